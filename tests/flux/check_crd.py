"""Checks Kubernetes objects (a JSON list on stdin) of the kinds whose CRDs
are in the directory argv[1] against the CRD's openAPIV3Schema: types,
required fields, enums, patterns, lengths and unknown fields. Prints one
line per problem and exits 1 when there is any; objects of other kinds are
skipped. A small subset of the schema language: what Flux's CRDs use."""

import json
import os
import re
import sys

import yaml


def schemas(directory):
    out = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".yaml"):
            continue
        with open(os.path.join(directory, name)) as f:
            for crd in yaml.safe_load_all(f):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                group = crd["spec"]["group"]
                kind = crd["spec"]["names"]["kind"]
                for v in crd["spec"]["versions"]:
                    out[(f"{group}/{v['name']}", kind)] = v["schema"]["openAPIV3Schema"]
    return out


TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "integer": int,
    "number": (int, float),
}


def check(value, schema, path, problems):
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)):
            problems.append(f"{path}: not an int or string")
        return
    t = schema.get("type")
    if t and not isinstance(value, TYPES[t]) or (t in ("integer", "number") and isinstance(value, bool)):
        problems.append(f"{path}: {json.dumps(value)} is not of type {t}")
        return
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: {json.dumps(value)} is not one of {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(f"{path}: {json.dumps(value)} does not match {schema['pattern']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{path}: longer than {schema['maxLength']}")
        if "minLength" in schema and len(value) < schema["minLength"]:
            problems.append(f"{path}: shorter than {schema['minLength']}")
    if isinstance(value, dict):
        for r in schema.get("required", []):
            if r not in value:
                problems.append(f"{path}: `{r}` is required")
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            if props is not None and k in props:
                check(v, props[k], f"{path}.{k}", problems)
            elif isinstance(extra, dict):
                check(v, extra, f"{path}.{k}", problems)
            elif props is not None and not schema.get("x-kubernetes-preserve-unknown-fields") and path != "":
                problems.append(f"{path}: unknown field `{k}`")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            check(v, schema["items"], f"{path}[{i}]", problems)


def main():
    known = schemas(sys.argv[1])
    problems = []
    checked = 0
    for obj in json.load(sys.stdin):
        key = (obj.get("apiVersion"), obj.get("kind"))
        if key not in known:
            continue
        checked += 1
        name = f"{obj['kind']}/{obj.get('metadata', {}).get('name')}"
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        check(body, known[key], name, problems)
    for p in problems:
        print(p)
    print(f"checked {checked} objects", file=sys.stderr)
    sys.exit(1 if problems else 0)


main()
