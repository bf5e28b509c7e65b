# The nixflux overlay: adds `pkgs.nixflux` (built from Cargo.lock).
final: _prev: { nixflux = final.callPackage ./package.nix { }; }
