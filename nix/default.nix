# The nixflux Nix library. Needs no nixpkgs:
#
#   let nixflux = import ./nix { }; in nixflux.mkBundle { spec = ...; nixflux = ...; }
{ }:
{
  mkBundle = import ./mk-bundle.nix;
}
