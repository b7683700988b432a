# NixOS module: programs.nixos-build-status (docs/install.md).
#
# - both commands on PATH, with their man pages and completions (NixOS links share/man,
#   share/bash-completion, share/zsh and share/fish of systemPackages when those shells'
#   completion and `documentation.man` are on, as they are by default);
# - logDir passed to both programs (and the bash library, which runs
#   nixos-build-status) as NIXOS_BUILD_LOG_DIR, kept through sudo, and created by
#   systemd-tmpfiles group-writable for `group` (setgid, default ACL) so builds run as
#   a normal user under nh write their records there;
# - the bash library at /etc/nixos-build-status/build-status.sh, and, opt-in, at
#   /etc/nixos/lib/build-status.sh where the original design's scripts source it;
# - opt-in: the design's shell aliases, and a periodic health check (a systemd timer
#   running `nixos-build-status --json`; its JSON goes to the journal).
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.programs.nixos-build-status;
  inherit (lib) mkOption mkEnableOption mkIf types;
  library = "${cfg.package}/share/nixos-build-status/build-status.sh";
  status = "${cfg.package}/bin/nixos-build-status";
in
{
  imports = [ ./fleet.nix ];

  options.programs.nixos-build-status = {
    enable = mkEnableOption "nixos-build-wrapper and nixos-build-status";

    package = mkOption {
      type = types.package;
      default = pkgs.callPackage ../package.nix { };
      defaultText = lib.literalExpression "the flake's packages.default";
      description = "The nixos-build-status package.";
    };

    logDir = mkOption {
      type = types.str;
      default = "/var/log/nixos-builds";
      description = ''
        Where both programs keep and read the build logs and records (last-build.log,
        last-build.json, build-history.json, logs/).  Passed as NIXOS_BUILD_LOG_DIR.
      '';
    };

    group = mkOption {
      type = types.str;
      default = "wheel";
      description = ''
        The group whose members may write to logDir: the users who run builds as
        themselves (nh builds as the user and only activates as root).
      '';
    };

    shellAliases.enable = mkEnableOption ''
      the original design's shell aliases: status = nixos-build-status,
      build = nixos-build-wrapper os switch, build-home = nixos-build-wrapper home switch
    '';

    designLibraryPath = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Also link the bash library at /etc/nixos/lib/build-status.sh, the path the
        original design's scripts source.  /etc/nixos is usually your configuration's
        own checkout: enable this only if lib/build-status.sh is free there (and ignored
        by git).  Otherwise keep a one-line lib/build-status.sh in your repository:
        source /etc/nixos-build-status/build-status.sh
      '';
    };

    healthCheck = {
      enable = mkEnableOption "a periodic `nixos-build-status --json` (a systemd timer)";
      onCalendar = mkOption {
        type = types.str;
        default = "hourly";
        description = "When the health check runs (systemd.time(7) calendar event).";
      };
      evaluate = mkOption {
        type = types.bool;
        default = false;
        description = ''
          Also evaluate the flake (slow: a nix eval of the whole configuration).  Off:
          the check runs with --no-eval.
        '';
      };
    };
  };

  config = mkIf cfg.enable {
    environment.systemPackages = [ cfg.package ];
    environment.variables.NIXOS_BUILD_LOG_DIR = cfg.logDir;

    # sudo resets the environment: a build run with sudo keeps writing to logDir.
    security.sudo.extraConfig = mkIf config.security.sudo.enable ''
      Defaults env_keep += "NIXOS_BUILD_LOG_DIR"
    '';

    # setgid: new files belong to the group; the default ACL keeps them group-writable
    # whatever the builder's umask, so the next user's build can replace them.
    systemd.tmpfiles.rules = [
      "d ${cfg.logDir} 2775 root ${cfg.group} -"
      "A+ ${cfg.logDir} - - - - group:${cfg.group}:rwX,default:group:${cfg.group}:rwX,default:mask::rwX"
    ];

    environment.etc = {
      "nixos-build-status/build-status.sh".source = library;
    }
    // lib.optionalAttrs cfg.designLibraryPath {
      "nixos/lib/build-status.sh".source = library;
    };

    environment.shellAliases = mkIf cfg.shellAliases.enable {
      status = "nixos-build-status";
      build = "nixos-build-wrapper os switch";
      build-home = "nixos-build-wrapper home switch";
    };

    systemd.services.nixos-build-status-health = mkIf cfg.healthCheck.enable {
      description = "NixOS build status health check (nixos-build-status --json)";
      environment.NIXOS_BUILD_LOG_DIR = cfg.logDir;
      # systemctl and journalctl for failed units; nix for the flake's evaluation
      path = [
        config.systemd.package
        config.nix.package
      ];
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${status} --json" + lib.optionalString (!cfg.healthCheck.evaluate) " --no-eval";
        # 1 (out of sync) and 2 (build errors, failed units) are the report's content,
        # in the journal as JSON; a failed unit here would itself turn every later
        # report into "failed units".  3 (bad arguments) still fails.
        SuccessExitStatus = "1 2";
        SyslogIdentifier = "nixos-build-status";
      };
    };

    systemd.timers.nixos-build-status-health = mkIf cfg.healthCheck.enable {
      description = "Periodic NixOS build status health check";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = cfg.healthCheck.onCalendar;
        Persistent = true;
        RandomizedDelaySec = "5min";
      };
    };
  };
}
