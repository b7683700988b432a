# Home Manager module: programs.nixos-build-status (docs/install.md).
#
# - both commands in home.packages, with their man pages and completions (Home Manager
#   links share/ of home.packages into the profile, where man, bash-completion, zsh's
#   fpath and fish find them);
# - logDir (optional) passed to both programs as NIXOS_BUILD_LOG_DIR; unset, they use
#   /var/log/nixos-builds when writable, else $XDG_STATE_HOME/nixos-builds;
# - the bash library at $XDG_DATA_HOME/nixos-build-status/build-status.sh;
# - opt-in: the original design's shell aliases (bash, zsh, fish), and a periodic
#   health check (a systemd user timer running `nixos-build-status --json`).
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.programs.nixos-build-status;
  inherit (lib) mkOption mkEnableOption mkIf types;
  status = "${cfg.package}/bin/nixos-build-status";
in
{
  options.programs.nixos-build-status = {
    enable = mkEnableOption "nixos-build-wrapper and nixos-build-status";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ../package.nix { };
      defaultText = lib.literalExpression "the flake's packages.default";
      description = "The nixos-build-status package.";
    };

    logDir = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/home/alice/.local/state/nixos-builds";
      description = ''
        Where both programs keep and read the build logs and records, passed as
        NIXOS_BUILD_LOG_DIR.  null: the programs' own choice (/var/log/nixos-builds when
        writable, as the NixOS module makes it for its group, else
        $XDG_STATE_HOME/nixos-builds).
      '';
    };

    shellAliases.enable = mkEnableOption ''
      the original design's shell aliases: status = nixos-build-status,
      build = nixos-build-wrapper os switch, build-home = nixos-build-wrapper home switch
    '';

    healthCheck = {
      enable = mkEnableOption "a periodic `nixos-build-status --json` (a systemd user timer)";
      onCalendar = mkOption {
        type = types.str;
        default = "hourly";
        description = "When the health check runs (systemd.time(7) calendar event).";
      };
      evaluate = mkOption {
        type = types.bool;
        default = false;
        description = "Also evaluate the flake (slow); off: --no-eval.";
      };
    };
  };

  config = mkIf cfg.enable {
    home.packages = [ cfg.package ];
    home.sessionVariables = mkIf (cfg.logDir != null) { NIXOS_BUILD_LOG_DIR = cfg.logDir; };

    xdg.dataFile."nixos-build-status/build-status.sh".source =
      "${cfg.package}/share/nixos-build-status/build-status.sh";

    home.shellAliases = mkIf cfg.shellAliases.enable {
      status = "nixos-build-status";
      build = "nixos-build-wrapper os switch";
      build-home = "nixos-build-wrapper home switch";
    };

    systemd.user.services.nixos-build-status-health = mkIf cfg.healthCheck.enable {
      Unit.Description = "NixOS build status health check (nixos-build-status --json)";
      Service = {
        Type = "oneshot";
        ExecStart = "${status} --json" + lib.optionalString (!cfg.healthCheck.evaluate) " --no-eval";
        Environment = lib.optional (cfg.logDir != null) "NIXOS_BUILD_LOG_DIR=${cfg.logDir}";
        # 1 and 2 are the report's content (in the journal); 3 still fails the unit.
        SuccessExitStatus = "1 2";
      };
    };

    systemd.user.timers.nixos-build-status-health = mkIf cfg.healthCheck.enable {
      Unit.Description = "Periodic NixOS build status health check";
      Timer = {
        OnCalendar = cfg.healthCheck.onCalendar;
        Persistent = true;
        RandomizedDelaySec = "5min";
      };
      Install.WantedBy = [ "timers.target" ];
    };
  };
}
