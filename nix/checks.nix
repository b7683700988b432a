# The flake's checks (nix flake check):
# - package: the package builds (its pythonImportsCheck runs in the build);
# - commands: both commands run (--version, --help, a report from an empty system),
#   and the man pages, completions and bash library are where they are installed;
# - nixos-module: a NixOS system with the module (every option on) evaluates, and the
#   options reach the programs (environment, units, files);
# - home-manager-module: the Home Manager module evaluates with nixpkgs' module system
#   against the few Home Manager options it sets (this flake has no home-manager
#   input), and its options reach the programs.
# tests/test_nix_modules.py evaluates both modules offline with a stub lib.
{
  pkgs,
  self,
  nixosSystem,
}:

let
  inherit (pkgs) lib;
  system = pkgs.stdenv.hostPlatform.system;
  package = self.packages.${system}.default;
  expect =
    name: facts:
    let
      failed = lib.filterAttrs (_: ok: !ok) facts;
    in
    if failed == { } then
      pkgs.runCommand name { } "touch $out"
    else
      throw "${name}: ${lib.concatStringsSep ", " (lib.attrNames failed)}";

  nixos =
    (nixosSystem {
      inherit system;
      modules = [
        self.nixosModules.default
        {
          boot.isContainer = true;
          system.stateVersion = "24.11";
          programs.nixos-build-status = {
            enable = true;
            logDir = "/srv/nixos-builds";
            group = "builders";
            shellAliases.enable = true;
            designLibraryPath = true;
            healthCheck.enable = true;
          };
          users.groups.builders = { };
        }
      ];
    }).config;

  hm =
    (lib.evalModules {
      specialArgs = { inherit pkgs; };
      modules = [
        self.homeManagerModules.default
        # The Home Manager options the module sets, as Home Manager declares them enough
        # for merging.
        {
          options = {
            home.packages = lib.mkOption { type = lib.types.listOf lib.types.package; };
            home.sessionVariables = lib.mkOption { type = lib.types.attrsOf lib.types.str; };
            home.shellAliases = lib.mkOption { type = lib.types.attrsOf lib.types.str; };
            xdg.dataFile = lib.mkOption { type = lib.types.attrsOf lib.types.anything; };
            systemd.user.services = lib.mkOption { type = lib.types.attrsOf lib.types.anything; };
            systemd.user.timers = lib.mkOption { type = lib.types.attrsOf lib.types.anything; };
          };
          config.programs.nixos-build-status = {
            enable = true;
            logDir = "/home/alice/builds";
            shellAliases.enable = true;
            healthCheck.enable = true;
          };
        }
      ];
    }).config;
  healthService = nixos.systemd.services.nixos-build-status-health;
in
{
  package = package;

  commands = pkgs.runCommand "nixos-build-status-commands" { } ''
    set -euo pipefail
    for cmd in nixos-build-wrapper nixos-build-status; do
      ${package}/bin/$cmd --version | grep -qxF "$cmd ${package.version}"
      ${package}/bin/$cmd --help >/dev/null
      test -f ${package}/share/man/man1/$cmd.1.gz
      test -f ${package}/share/bash-completion/completions/$cmd
      test -f ${package}/share/zsh/site-functions/_$cmd
      test -f ${package}/share/fish/vendor_completions.d/$cmd.fish
    done
    grep -qF '${package}/bin/nixos-build-status' ${package}/share/nixos-build-status/build-status.sh
    mkdir root logs
    code=0
    NIXOS_BUILD_ROOT=$PWD/root NIXOS_BUILD_LOG_DIR=$PWD/logs \
      ${package}/bin/nixos-build-status --json --no-eval > report.json || code=$?
    test "$code" -le 2
    ${pkgs.jq}/bin/jq -e 'has("overallStatus")' report.json >/dev/null
    touch $out
  '';

  nixos-module = expect "nixos-module-evaluates" {
    "the system evaluates" = builtins.isString nixos.system.build.toplevel.drvPath;
    "package on PATH" = builtins.elem package nixos.environment.systemPackages;
    "logDir in the environment" = nixos.environment.variables.NIXOS_BUILD_LOG_DIR == "/srv/nixos-builds";
    "logDir kept through sudo" = lib.hasInfix "NIXOS_BUILD_LOG_DIR" nixos.security.sudo.extraConfig;
    "logDir writable by the group" = builtins.elem "d /srv/nixos-builds 2775 root builders -" nixos.systemd.tmpfiles.rules;
    "library in /etc" = nixos.environment.etc."nixos-build-status/build-status.sh".source == "${package}/share/nixos-build-status/build-status.sh";
    "library where the design sources it" = nixos.environment.etc ? "nixos/lib/build-status.sh";
    "aliases" = nixos.environment.shellAliases.build == "nixos-build-wrapper os switch";
    "health check runs --json" = lib.hasInfix "nixos-build-status --json" healthService.serviceConfig.ExecStart;
    "health check sees logDir" = healthService.environment.NIXOS_BUILD_LOG_DIR == "/srv/nixos-builds";
    "timer" = nixos.systemd.timers.nixos-build-status-health.timerConfig.OnCalendar == "hourly";
  };

  home-manager-module = expect "home-manager-module-evaluates" {
    "package" = builtins.elem package hm.home.packages;
    "logDir in the session" = hm.home.sessionVariables.NIXOS_BUILD_LOG_DIR == "/home/alice/builds";
    "library" = hm.xdg.dataFile."nixos-build-status/build-status.sh".source == "${package}/share/nixos-build-status/build-status.sh";
    "aliases" = hm.home.shellAliases.status == "nixos-build-status";
    "health check" = lib.hasInfix "--json" hm.systemd.user.services.nixos-build-status-health.Service.ExecStart;
    "health check sees logDir" = hm.systemd.user.services.nixos-build-status-health.Service.Environment == [ "NIXOS_BUILD_LOG_DIR=/home/alice/builds" ];
    "timer" = hm.systemd.user.timers.nixos-build-status-health.Install.WantedBy == [ "timers.target" ];
  };
}
