# mkBundle: a nixflux spec -> a bundle, as an ordinary derivation.
#
#   mkBundle { spec = { apiVersion = "nixflux/v1alpha1"; apps = { ... }; }; nixflux = pkgs.nixflux; }
#
# The builder is the nixflux binary itself (`render --from-env`); no nixpkgs
# and no import-from-derivation. The spec reaches it as a file through
# `passAsFile`, which keeps the string context of image store paths
# (`nix:0${image}`): they become inputs of the build and, because the
# bundle's index names them, runtime references of the bundle, so every
# closure that holds the bundle also holds its images.
#
# `spec` is an attribute set (or a JSON string); `nixflux` a package with
# `bin/nixflux`. The output is byte-identical to `nixflux render SPEC --out DIR`.
{
  spec,
  nixflux,
  name ? "nixflux-bundle",
  system ? builtins.currentSystem,
  # `nixflux flux bootstrap` flags (names only): their objects join the bundle.
  fluxBootstrapArgs ? null,
}:
builtins.derivation {
  inherit name system;
  builder = "${nixflux}/bin/nixflux";
  args = [
    "render"
    "--from-env"
    "--quiet"
  ];
  spec = if builtins.isString spec then spec else builtins.toJSON spec;
  passAsFile = [ "spec" ];
  # Read by `render --from-env`; absent unless set, so other bundles keep their hash.
  ${if fluxBootstrapArgs == null then null else "fluxBootstrapArgs"} = builtins.toJSON fluxBootstrapArgs;
  # Rendering is fast and machine-independent: no substitution round trip.
  preferLocalBuild = true;
  allowSubstitutes = false;
}
