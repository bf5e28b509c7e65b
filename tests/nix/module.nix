# Evaluates modules/nixflux.nix with nixpkgs' lib alone (no nixpkgs, no
# NixOS): the few NixOS options the module sets are declared here as stubs.
# Returns the spec, the failed assertions' messages, the publish units and
# the notifier's unit.
{
  lib,
  services,
  pkgs ? null,
}:
let
  stubs =
    { lib, ... }:
    {
      options = {
        assertions = lib.mkOption {
          type = lib.types.listOf lib.types.unspecified;
          default = [ ];
        };
        system.extraDependencies = lib.mkOption {
          type = lib.types.listOf lib.types.unspecified;
          default = [ ];
        };
        systemd.services = lib.mkOption {
          type = lib.types.attrsOf lib.types.unspecified;
          default = { };
        };
      };
    };
  stubPkgs = {
    # Never built by these tests: only its path is used.
    nixflux = builtins.derivation {
      name = "nixflux-stub";
      system = builtins.currentSystem;
      builder = "/bin/sh";
    };
    stdenv.hostPlatform.system = builtins.currentSystem;
  };
  eval = lib.evalModules {
    modules = [
      ../../modules/nixflux.nix
      stubs
      { services.nixflux = services; }
    ];
    specialArgs.pkgs = if pkgs == null then stubPkgs else pkgs;
  };
  config = eval.config;
in
{
  inherit (config.services.nixflux) spec;
  failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
  units = lib.mapAttrs (_: u: {
    inherit (u) wantedBy after restartTriggers;
    inherit (u.serviceConfig)
      Type
      RemainAfterExit
      DynamicUser
      StateDirectory
      LoadCredential
      UMask
      ReadWritePaths
      ExecStart
      ;
    SuccessExitStatus = u.serviceConfig.SuccessExitStatus or null;
    TimeoutStartSec = u.serviceConfig.TimeoutStartSec or null;
  }) config.systemd.services;
  extraDependencies = config.system.extraDependencies;
  # The notifier's unit as systemd gets it, and its configuration file.
  notifier =
    let
      n = config.services.nixflux.notifier;
    in
    {
      unit = config.systemd.services.nixflux-notify or null;
      configFile = toString n.configFile;
      config = builtins.fromJSON (builtins.readFile n.configFile);
    };
  bootstrap = lib.mapAttrs (_: t: t.flux.bootstrap.package) config.services.nixflux.targets;
  bootstrapArgs = lib.mapAttrs (
    _: t: if t.flux.bootstrap.package == null then null else t.flux.bootstrap.package.drvAttrs.args
  ) config.services.nixflux.targets;
  inherit (config.services.nixflux) bundle;
  # The options reference in docs/nixos.md is generated from this.
  optionDocs = map (o: {
    inherit (o) name type;
    description = o.description or "";
    default = o.default.text or null;
    example = o.example.text or (if o ? example then builtins.toJSON o.example else null);
    readOnly = o.readOnly or false;
  }) (lib.filter (o: o.visible && !o.internal && !(lib.hasInfix "._module." o.name)) (lib.optionAttrSetToDocList eval.options.services.nixflux));
}
