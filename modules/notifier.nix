# services.nixflux.notifier: `nixflux notify` as a hardened systemd service.
#
# `settings` is the notifier's configuration (docs/notify.md, field by field),
# written to the store as JSON (the same field names as the TOML form; the
# module's tests run with nixpkgs' lib alone, without pkgs.formats). Secrets
# never enter it: each is a file on the host, handed to the unit with
# LoadCredential (`credentials`), which the settings name by its path under
# `credentialsDirectory`.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.services.nixflux.notifier;
  unit = "nixflux-notify";
  credentialsDirectory = "/run/credentials/${unit}.service";

  sinks = cfg.settings.sink or [ ];
  devicePaths = map (s: s.path) (lib.filter (s: (s.kind or null) == "device" && s ? path) sinks);
  hasDevice = devicePaths != [ ];

  configText = builtins.toJSON cfg.settings;
  # pkgs.writeText where there is a pkgs; builtins.toFile in the
  # lib-only evaluation of the module tests (it cannot hold a reference to
  # a derivation output, which settings rarely need).
  configFile =
    if pkgs ? writeText then
      pkgs.writeText "${unit}.json" configText
    else
      builtins.toFile "${unit}.json" configText;

  inStore = p: lib.hasPrefix builtins.storeDir (toString p);
  storedCredentials = lib.filter (n: inStore cfg.credentials.${n}) (lib.attrNames cfg.credentials);
  badNames = lib.filter (n: builtins.match "[A-Za-z0-9_.-]+" n == null) (lib.attrNames cfg.credentials);
in
{
  options.services.nixflux.notifier = {
    enable = mkOption {
      type = types.bool;
      default = false;
      description = "Run `nixflux notify`: tell people (ntfy, Gotify, webhooks, a command, an LED on a serial port) when Flux fails to reconcile, recovers, or stays failing; see docs/notify.md.";
    };
    package = mkOption {
      type = types.package;
      default = config.services.nixflux.package;
      defaultText = lib.literalExpression "config.services.nixflux.package";
      description = "The nixflux package whose `nixflux notify` runs.";
    };
    settings = mkOption {
      type = types.attrsOf types.anything;
      default = { };
      example = {
        grace = "10m";
        http = {
          listen = "127.0.0.1:9292";
          receiver_listen = "0.0.0.0:9293";
          hmac_key_file = "/run/credentials/nixflux-notify.service/hmac";
        };
        sink = [
          {
            name = "phone";
            kind = "ntfy";
            url = "https://ntfy.sh/my-cluster";
            token_file = "/run/credentials/nixflux-notify.service/ntfy-token";
          }
        ];
      };
      description = "The notifier's configuration (docs/notify.md), written to the store as JSON with the TOML form's field names. Never put a secret here: name files from `credentials` by their path under `credentialsDirectory`.";
    };
    credentials = mkOption {
      type = types.attrsOf types.path;
      default = { };
      example = {
        hmac = "/run/keys/flux-notifier-hmac";
        ntfy-token = "/run/keys/ntfy-token";
      };
      description = "Secret files on the host, outside the Nix store, by name: each reaches the unit with `LoadCredential=NAME:PATH` and is read at `/run/credentials/nixflux-notify.service/NAME`.";
    };
    credentialsDirectory = mkOption {
      type = types.str;
      readOnly = true;
      default = credentialsDirectory;
      description = "Where the unit finds `credentials` (systemd's `$CREDENTIALS_DIRECTORY`), for the paths in `settings`.";
    };
    deviceGroups = mkOption {
      type = types.listOf types.str;
      default = lib.optional hasDevice "dialout";
      defaultText = lib.literalMD "dialout when a device sink is configured, else none";
      description = "Supplementary groups of the unit's dynamic user, for the device sinks' serial ports.";
    };
    configFile = mkOption {
      type = types.path;
      readOnly = true;
      default = configFile;
      defaultText = lib.literalMD "settings as JSON in the store";
      description = "The configuration file the unit passes to `nixflux notify --config`.";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = storedCredentials == [ ];
        message = "services.nixflux.notifier.credentials.${lib.concatStringsSep ", " storedCredentials} is in the Nix store, where every user can read it; use a path outside the store (e.g. /run/keys/...).";
      }
      {
        assertion = badNames == [ ];
        message = "services.nixflux.notifier.credentials: `${lib.concatStringsSep "`, `" badNames}` is not a credential name systemd accepts (letters, digits, `_`, `.`, `-`).";
      }
    ];

    systemd.services.${unit} = {
      description = "nixflux notify: Flux reconcile notifications";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      restartTriggers = [ configFile ];
      serviceConfig = {
        ExecStart = "${cfg.package}/bin/nixflux notify --config ${configFile}";
        Restart = "on-failure";
        RestartSec = "5s";
        DynamicUser = true;
        StateDirectory = unit;
        StateDirectoryMode = "0700";
        UMask = "0077";
        LoadCredential = lib.mapAttrsToList (n: p: "${n}:${toString p}") cfg.credentials;
        SupplementaryGroups = cfg.deviceGroups;
        # Hardening, as nixpkgs' network daemons have it.
        CapabilityBoundingSet = "";
        AmbientCapabilities = "";
        NoNewPrivileges = true;
        PrivateTmp = true;
        PrivateDevices = !hasDevice;
        DevicePolicy = "closed";
        DeviceAllow = map (p: "${p} rw") devicePaths;
        ProtectSystem = "strict";
        ProtectHome = true;
        ProtectClock = true;
        ProtectControlGroups = true;
        ProtectHostname = true;
        ProtectKernelLogs = true;
        ProtectKernelModules = true;
        ProtectKernelTunables = true;
        ProtectProc = "invisible";
        ProcSubset = "pid";
        RestrictAddressFamilies = [
          "AF_INET"
          "AF_INET6"
          "AF_UNIX"
        ];
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        MemoryDenyWriteExecute = true;
        RemoveIPC = true;
        SystemCallArchitectures = "native";
        SystemCallFilter = [
          "@system-service"
          "~@privileged"
        ];
      };
    };
  };
}
