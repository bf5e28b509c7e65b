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
      overlays.default = import ./nix/overlay.nix;

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

      checks = forAllSystems (
        pkgs:
        let
          system = pkgs.stdenv.hostPlatform.system;
          example = ./docs/examples/homelab.json;
          evaluated = import ./tests/nix/example.nix {
            inherit (nixpkgs) lib;
            examplePath = example;
          };
        in
        {
          package = self.packages.${system}.nixflux;
          bundle = self.packages.${system}.bundle;
          # The module's spec equals the JSON example it mirrors, and no assertion fires.
          module =
            assert evaluated.spec == builtins.fromJSON (builtins.readFile example);
            assert evaluated.failedAssertions == [ ];
            pkgs.runCommand "nixflux-module-eval" { } "touch $out";
          # Needs KVM: boots a node with the module and publishes to a local rclone S3.
          vm = pkgs.testers.runNixOSTest (import ./tests/nix/vm.nix { inherit self; });
        }
      );

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
