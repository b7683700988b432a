# Fleet options (metrics, journal) for the NixOS module: a stub with no options yet.
# nixos.nix imports this file; the fleet work fills it in (its own options under
# programs.nixos-build-status, reading the same cfg), so neither file needs the other's
# edits.
{ ... }:
{
}
