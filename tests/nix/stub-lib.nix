# A stand-in for nixpkgs' lib, for evaluating our modules offline (no nixpkgs here):
# only what nix/ uses, each behaving like nixpkgs' function of the same name for the
# values our modules give it.  mkIf / mkMerge / mkDefault leave markers that
# eval-module.nix resolves as the module system does (a false mkIf defines nothing;
# definitions merge: attribute sets recursively, lists by concatenation).
let
  type =
    name: check: {
      _type = "type";
      inherit name check;
    };
in
rec {
  mkOption = attrs: attrs // { _type = "option"; };
  mkEnableOption =
    what:
    mkOption {
      type = types.bool;
      default = false;
      description = "Whether to enable ${what}.";
    };
  mkIf = condition: content: {
    _type = "if";
    inherit condition content;
  };
  mkMerge = contents: {
    _type = "merge";
    inherit contents;
  };
  mkDefault = content: {
    _type = "override";
    priority = 1000;
    inherit content;
  };
  mkForce = content: {
    _type = "override";
    priority = 50;
    inherit content;
  };
  literalExpression = text: {
    _type = "literalExpression";
    inherit text;
  };
  types = {
    str = type "str" builtins.isString;
    bool = type "bool" builtins.isBool;
    package = type "package" (v: builtins.isAttrs v && v ? outPath);
    nullOr = t: type "nullOr ${t.name}" (v: v == null || t.check v);
  };
  optional = cond: value: if cond then [ value ] else [ ];
  optionals = cond: values: if cond then values else [ ];
  inherit (builtins) concatStringsSep;
  escapeShellArg = arg: "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString arg)}'";
  optionalString = cond: value: if cond then value else "";
  optionalAttrs = cond: value: if cond then value else { };
  genAttrs =
    names: f:
    builtins.listToAttrs (
      map (name: {
        inherit name;
        value = f name;
      }) names
    );
  cleanSource = src: src;
  licenses.mit = "mit";
  platforms.linux = [
    "x86_64-linux"
    "aarch64-linux"
  ];
}
