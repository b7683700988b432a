{
  description = "nixos-build-status: build status, build events and structured errors for nh, nixos-rebuild and home-manager";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAll = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      packageFor = pkgs: pkgs.callPackage ./nix/package.nix { src = self; };
      # The modules default to this flake's package, whatever the user's nixpkgs has.
      withPackage =
        module:
        { pkgs, ... }:
        {
          imports = [ module ];
          programs.nixos-build-status.package =
            lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };
    in
    {
      overlays.default = final: _prev: { nixos-build-status = packageFor final; };

      packages = forAll (pkgs: rec {
        nixos-build-status = packageFor pkgs;
        default = nixos-build-status;
      });

      # nix run .#nixos-build-wrapper -- os switch;  nix run . (the status report)
      apps = forAll (
        pkgs:
        let
          package = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
          app = name: {
            type = "app";
            program = "${package}/bin/${name}";
          };
        in
        {
          default = app "nixos-build-status";
          nixos-build-status = app "nixos-build-status";
          nixos-build-wrapper = app "nixos-build-wrapper";
        }
      );

      nixosModules.default = withPackage ./nix/modules/nixos.nix;
      nixosModules.nixos-build-status = self.nixosModules.default;
      homeManagerModules.default = withPackage ./nix/modules/home-manager.nix;
      homeManagerModules.nixos-build-status = self.homeManagerModules.default;

      checks = forAll (
        pkgs:
        import ./nix/checks.nix {
          inherit pkgs self;
          inherit (nixpkgs.lib) nixosSystem;
        }
      );

      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = [
            pkgs.python3
            pkgs.jq
            pkgs.zstd
            pkgs.tmux
          ];
        };
      });
    };
}
