# The module with N generated apps and the real nixflux binary, for
# tests/bench/module.sh. `seed` makes each run a new derivation.
{
  libPath,
  appsPath,
  nixfluxPath,
  seed ? "0",
}:
let
  lib = import libPath;
  evaluated = import ./module.nix {
    inherit lib;
    services = {
      enable = true;
      defaults.labels."bench.nixflux.dev/seed" = seed;
      apps = builtins.fromJSON (builtins.readFile appsPath);
    };
    pkgs = {
      nixflux = builtins.storePath nixfluxPath;
      stdenv.hostPlatform.system = builtins.currentSystem;
    };
  };
in
evaluated.bundle
