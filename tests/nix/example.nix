# The module set from docs/examples/homelab.json, option for option, plus
# `extra` (more services.nixflux settings, as JSON).
{
  libPath ? null,
  lib ? import libPath,
  examplePath,
  extra ? "{}",
}:
let
  example = builtins.fromJSON (builtins.readFile examplePath);
in
import ./module.nix {
  inherit lib;
  services = lib.recursiveUpdate ((removeAttrs example [ "apiVersion" ]) // { enable = true; }) (builtins.fromJSON extra);
}
