# The nixflux package, built from Cargo.lock (used by flake.nix and the overlay).
{
  lib,
  rustPlatform,
}:
let
  manifest = (lib.importTOML ../Cargo.toml).package;
in
rustPlatform.buildRustPackage {
  pname = manifest.name;
  inherit (manifest) version;
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../src
      ../docs/examples/homelab.json
    ];
  };
  cargoLock.lockFile = ../Cargo.lock;
  # The integration tests need kubectl, Nix and rclone; CI runs them.
  doCheck = false;
  meta = {
    description = manifest.description;
    license = lib.licenses.asl20;
    mainProgram = "nixflux";
  };
}
