{
  description = "nixos-build-status: build status, build events and structured errors for nh, nixos-rebuild and home-manager";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAll (pkgs: rec {
        nixos-build-status = pkgs.python3Packages.buildPythonApplication {
          pname = "nixos-build-status";
          version = "0.1.0";
          pyproject = true;
          src = self;
          build-system = [ pkgs.python3Packages.hatchling ];
          dependencies = with pkgs.python3Packages; [ anyio trio msgspec rich ];
          # The suite needs a writable nix store and real terminals; run it with
          # `python3 tasks.py test` in a checkout instead.
          doCheck = false;
          pythonImportsCheck = [ "orchestrator" "parsers" "sinks" "nixos_build_status" ];
          meta = {
            description = "Build status, build events and structured errors for NixOS rebuilds";
            mainProgram = "nixos-build-status";
            platforms = pkgs.lib.platforms.linux;
          };
        };
        default = nixos-build-status;
      });

      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = [ pkgs.python3 pkgs.jq pkgs.zstd pkgs.tmux ];
        };
      });

      nixosModules.default = { config, lib, pkgs, ... }:
        let cfg = config.programs.nixos-build-status;
        in {
          options.programs.nixos-build-status = {
            enable = lib.mkEnableOption "nixos-build-wrapper and nixos-build-status";
            package = lib.mkOption {
              type = lib.types.package;
              default = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
              description = "The package to install.";
            };
            logDir = lib.mkOption {
              type = lib.types.str;
              default = "/var/log/nixos-builds";
              description = "Where builds run as root keep their logs and records.";
            };
          };
          config = lib.mkIf cfg.enable {
            environment.systemPackages = [ cfg.package ];
            systemd.tmpfiles.rules = [ "d ${cfg.logDir} 0755 root root -" ];
          };
        };
    };
}
