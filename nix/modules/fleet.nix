# Fleet options of the NixOS module (docs/fleet.md): Prometheus textfiles for
# node_exporter, journal entries, OpenTelemetry traces, and unattended upgrades
# (system.autoUpgrade) run through the wrapper.  nixos.nix imports this file; both read
# the same programs.nixos-build-status.
#
# Every build gets the outputs through variables: set for login sessions
# (environment.variables), kept through sudo, and set on the units that run builds or
# reports (nixos-upgrade.service, the metrics timer): systemd units do not see
# environment.variables.
{
  config,
  lib,
  ...
}:

let
  cfg = config.programs.nixos-build-status;
  fleet = cfg.fleet;
  inherit (lib) mkOption mkEnableOption mkIf types;
  wrapper = "${cfg.package}/bin/nixos-build-wrapper";
  status = "${cfg.package}/bin/nixos-build-status";
  upgrade = config.system.autoUpgrade;

  # What a build run here is told (orchestrator/fleet.py reads these).
  variables =
    lib.optionalAttrs fleet.prometheus.enable {
      NIXOS_BUILD_PROMETHEUS_DIR = fleet.prometheus.textfileDirectory;
    }
    // lib.optionalAttrs fleet.journal.enable { NIXOS_BUILD_JOURNAL = "1"; }
    // lib.optionalAttrs fleet.otel.enable (
      { NIXOS_BUILD_OTEL = "1"; }
      // lib.optionalAttrs (fleet.otel.endpoint != null) {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = fleet.otel.endpoint;
      }
    );
  anyOutput = variables != { };

  # system.autoUpgrade's command, through the wrapper: the same operation, flake and
  # flags (after --: nixos-rebuild hands them to nix); as nixpkgs' script does,
  # --refresh for a flake (its inputs fetched afresh), --upgrade for channels.
  upgradeCommand = lib.concatStringsSep " " (
    [
      wrapper
      "os"
      upgrade.operation
      "--no-nh"
      "--console"
      "plain"
    ]
    ++ (
      if upgrade.flake != null then
        [
          "--flake"
          (lib.escapeShellArg upgrade.flake)
          "--tool-arg=--refresh"
        ]
      else
        [ "--tool-arg=--upgrade" ]
    )
    ++ lib.optionals (upgrade.flags != [ ]) ([ "--" ] ++ map lib.escapeShellArg upgrade.flags)
  );
in
{
  options.programs.nixos-build-status.fleet = {
    prometheus = {
      enable = mkEnableOption ''
        Prometheus textfiles: every build writes nixos-build.prom and a timer writes
        nixos-status.prom into textfileDirectory (docs/metrics.md)
      '';
      textfileDirectory = mkOption {
        type = types.str;
        default = "/var/lib/prometheus-node-exporter-text-files";
        description = ''
          node_exporter's textfile collector directory (passed as
          NIXOS_BUILD_PROMETHEUS_DIR), made writable for `group` (nh builds as the
          user).  Builds by a user who cannot write there skip their metrics in silence.
        '';
      };
      nodeExporter = mkOption {
        type = types.bool;
        default = true;
        description = ''
          Turn on the textfile collector of services.prometheus.exporters.node, reading
          textfileDirectory (node_exporter itself is enabled, or not, by you).
        '';
      };
      statusInterval = mkOption {
        type = types.str;
        default = "*:0/15";
        description = ''
          How often `nixos-build-status --no-eval` rewrites nixos-status.prom
          (systemd.time(7) calendar event); the example alerts call it stale after an hour.
        '';
      };
    };

    journal.enable = mkEnableOption ''
      journal entries for every build (started, failed derivations, failed units,
      finished; SYSLOG_IDENTIFIER=nixos-build-status, docs/fleet.md)
    '';

    otel = {
      enable = mkEnableOption ''
        an OpenTelemetry trace of every build over OTLP/HTTP (the package needs the otel
        extra: package = pkgs.callPackage ./nix/package.nix { withOtel = true; })
      '';
      endpoint = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "http://127.0.0.1:4318/v1/traces";
        description = ''
          The collector's traces URL, as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; null: the
          standard OTEL_* variables of the build's environment decide (default
          http://localhost:4318).
        '';
      };
    };

    autoUpgrade = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Run system.autoUpgrade's nixos-upgrade.service through nixos-build-wrapper, so an
        unattended upgrade leaves a log, last-build.json, a history entry, metrics and
        journal entries like a manual build (the same operation, flake and flags).  Not
        with system.autoUpgrade.allowReboot, whose script stays nixpkgs'.
      '';
    };
  };

  config = mkIf cfg.enable (
    lib.mkMerge [
      (mkIf anyOutput {
        environment.variables = variables;
        security.sudo.extraConfig = mkIf config.security.sudo.enable ''
          Defaults env_keep += "${lib.concatStringsSep " " (builtins.attrNames variables)}"
        '';
      })

      (mkIf fleet.prometheus.enable {
        # Group-writable (setgid) for cfg.group, as logDir: nh builds as the user, who
        # then replaces nixos-build.prom; files stay 0644, readable by node_exporter.
        systemd.tmpfiles.rules = [ "d ${fleet.prometheus.textfileDirectory} 2775 root ${cfg.group} -" ];

        services.prometheus.exporters.node = mkIf fleet.prometheus.nodeExporter {
          enabledCollectors = [ "textfile" ];
          extraFlags = [ "--collector.textfile.directory=${fleet.prometheus.textfileDirectory}" ];
        };

        systemd.services.nixos-build-status-metrics = {
          description = "nixos-build-status metrics for node_exporter (nixos-status.prom)";
          environment = {
            NIXOS_BUILD_LOG_DIR = cfg.logDir;
          };
          path = [
            config.systemd.package
            config.nix.package
          ];
          serviceConfig = {
            Type = "oneshot";
            ExecStart = "${status} --json --no-eval --prometheus-textfile ${fleet.prometheus.textfileDirectory}";
            # the metrics are the output; the report is already in the health check's
            StandardOutput = "null";
            # 1 and 2 are the report's content (now in the metrics); 3 still fails
            SuccessExitStatus = "1 2";
            SyslogIdentifier = "nixos-build-status";
          };
        };
        systemd.timers.nixos-build-status-metrics = {
          description = "Periodic nixos-build-status metrics";
          wantedBy = [ "timers.target" ];
          timerConfig = {
            OnCalendar = fleet.prometheus.statusInterval;
            OnBootSec = "1min";
          };
        };
      })

      (mkIf fleet.autoUpgrade {
        warnings = lib.optional upgrade.allowReboot ''
          programs.nixos-build-status.fleet.autoUpgrade: system.autoUpgrade.allowReboot is
          set; nixos-upgrade.service keeps nixpkgs' own script, not through the wrapper.
        '';
        systemd.services.nixos-upgrade = mkIf (!upgrade.allowReboot) {
          # the wrapper finds nixos-rebuild on PATH
          path = [ config.system.build.nixos-rebuild ];
          environment = {
            NIXOS_BUILD_LOG_DIR = cfg.logDir;
          }
          // variables;
          script = lib.mkForce upgradeCommand;
        };
      })
    ]
  );
}
