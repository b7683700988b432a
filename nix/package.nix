# nixos-build-status as a Nix package: both commands, their man pages and shell
# completions (bash, zsh, fish), and the bash library at
# share/nixos-build-status/build-status.sh (calling this package's nixos-build-status,
# so a script sourcing it works under cron or systemd with a bare PATH).
#
#   pkgs.callPackage ./nix/package.nix { }          # from a checkout
#   pkgs.callPackage ./nix/package.nix { src = self; }   # from the flake
#   pkgs.callPackage ./nix/package.nix { withOtel = true; }   # with the otel extra (--otel)
{
  lib,
  python3Packages,
  installShellFiles,
  src ? lib.cleanSource ../.,
  # the otel extra: OpenTelemetry traces of each build (--otel; docs/fleet.md)
  withOtel ? false,
}:

let
  pyproject = builtins.fromTOML (builtins.readFile ../pyproject.toml);
in
python3Packages.buildPythonApplication {
  pname = "nixos-build-status";
  inherit (pyproject.project) version;
  inherit src;
  pyproject = true;

  build-system = [ python3Packages.hatchling ];
  dependencies =
    with python3Packages;
    [
      anyio
      trio
      msgspec
      rich
    ]
    ++ lib.optionals withOtel [
      opentelemetry-sdk
      opentelemetry-exporter-otlp-proto-http
    ];
  nativeBuildInputs = [ installShellFiles ];

  # The man pages and completions are generated from the argument parsers and committed
  # (share/; tools/generate_share.py, checked current by tests/test_install.py), so the
  # build needs neither shtab nor argparse-manpage.  The wheel also carries them as
  # data; installing them here is what makes the paths certain.
  postInstall = ''
    installManPage share/man/man1/nixos-build-wrapper.1 share/man/man1/nixos-build-status.1
    for cmd in nixos-build-wrapper nixos-build-status; do
      installShellCompletion --cmd "$cmd" \
        --bash "share/bash-completion/completions/$cmd" \
        --zsh "share/zsh/site-functions/_$cmd" \
        --fish "share/fish/vendor_completions.d/$cmd.fish"
    done
    install -Dm644 nixos_build_status/build-status.sh \
      "$out/share/nixos-build-status/build-status.sh"
    substituteInPlace "$out/share/nixos-build-status/build-status.sh" \
      --replace-fail '"''${NIXOS_BUILD_STATUS_CMD:-nixos-build-status}"' \
                     "\"\''${NIXOS_BUILD_STATUS_CMD:-$out/bin/nixos-build-status}\""
  '';

  # The suite needs real terminals, mount namespaces and a writable Nix store: run it
  # with `python3 tasks.py test` in a checkout.  The flake's checks run the commands.
  doCheck = false;
  pythonImportsCheck = [
    "orchestrator.wrapper_cli"
    "status.cli"
    "nixos_build_status"
  ];

  meta = {
    description = "Build status, build events and structured errors for nh, nixos-rebuild and home-manager";
    license = lib.licenses.mit;
    mainProgram = "nixos-build-status";
    platforms = lib.platforms.linux;
  };
}
