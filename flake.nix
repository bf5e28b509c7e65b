{
  description = "nixflux: declare Kubernetes apps in Nix, render them to checked bundles, publish them for Flux";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      overlays.default = final: _prev: { nixflux = final.callPackage ./nix/package.nix { }; };

      packages = forAllSystems (pkgs: rec {
        nixflux = pkgs.callPackage ./nix/package.nix { };
        default = nixflux;
        # The example spec as a bundle: `nix build .#bundle`.
        bundle = self.lib.mkBundle {
          spec = builtins.readFile ./docs/examples/homelab.json;
          nixflux = nixflux;
          inherit (pkgs.stdenv.hostPlatform) system;
        };
      });

      nixosModules.default = {
        imports = [ ./modules/nixflux.nix ];
        nixpkgs.overlays = [ self.overlays.default ];
      };

      lib.mkBundle = import ./nix/mk-bundle.nix;

      checks = forAllSystems (pkgs: {
        package = self.packages.${pkgs.stdenv.hostPlatform.system}.nixflux;
        bundle = self.packages.${pkgs.stdenv.hostPlatform.system}.bundle;
        module = import ./nix/tests/module-eval.nix {
          inherit (nixpkgs) lib;
          inherit pkgs;
          nixflux = self.packages.${pkgs.stdenv.hostPlatform.system}.nixflux;
        };
        # Needs KVM: boots a node with the module and publishes to rclone.
        vm = pkgs.testers.runNixOSTest (import ./nix/tests/vm.nix { inherit self; });
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [
            cargo
            rustc
            clippy
            rustfmt
            kubectl
            nix
            rclone
          ];
        };
      });

      formatter = forAllSystems (pkgs: pkgs.nixfmt-rfc-style);
    };
}
