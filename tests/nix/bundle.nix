# mkBundle with a real image store path from builtins.derivation, built by
# the nixflux binary that `nixfluxPath` (a store path, `nix-store --add`)
# holds. No nixpkgs.
{ nixfluxPath }:
let
  image = builtins.derivation {
    name = "nix-image-web.tar";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [
      "-c"
      "echo not-really-a-tar > $out"
    ];
  };
  spec = {
    apiVersion = "nixflux/v1alpha1";
    apps.web = {
      image = "nix:0${image}";
      port = 8080;
      health = "/healthz";
      env.GREETING = "hello";
    };
  };
in
{
  inherit spec image;
  bundle = import ../../nix/mk-bundle.nix {
    inherit spec;
    nixflux = builtins.storePath nixfluxPath;
  };
}
