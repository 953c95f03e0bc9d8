#!/usr/bin/python3
"""Reject unknown fields in Kubernetes objects (YAML documents in the files
given, or stdin), which the JSON schemas let through: every field of every
type is looked up in the API model classes of Debian's python3-kubernetes
(openapi_types and attribute_map), recursively. Prints one line per
unknown field; exit status 1 if there is any."""
import re
import sys

import yaml
from kubernetes.client import models

def model_for(api_version, kind):
    version = api_version.split("/")[-1]
    return getattr(models, version[0].upper() + version[1:] + kind, None)

def check(value, type_name, path, problems):
    if value is None:
        return
    m = re.fullmatch(r"list\[(.+)\]", type_name)
    if m:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list")
            return
        for i, item in enumerate(value):
            check(item, m.group(1), f"{path}[{i}]", problems)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", type_name)
    if m:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map")
            return
        for k, v in value.items():
            check(v, m.group(1), f"{path}.{k}", problems)
        return
    cls = getattr(models, type_name, None)
    if cls is None:  # str, int, bool, object, datetime: a leaf
        return
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object ({type_name})")
        return
    json_to_attr = {v: k for k, v in cls.attribute_map.items()}
    for key, v in value.items():
        attr = json_to_attr.get(key)
        if attr is None:
            problems.append(f"{path}.{key}: unknown field of {type_name}")
            continue
        check(v, cls.openapi_types[attr], f"{path}.{key}", problems)

def main():
    problems = []
    sources = sys.argv[1:] or ["-"]
    for src in sources:
        text = sys.stdin.read() if src == "-" else open(src).read()
        docs = []
        for doc in yaml.safe_load_all(text):
            # A v1 List has no model: its items are checked one by one.
            if isinstance(doc, dict) and doc.get("kind") == "List":
                docs.extend(doc.get("items") or [])
            elif doc is not None:
                docs.append(doc)
        for i, doc in enumerate(docs):
            where = f"{src}#{i + 1} {doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
            cls = model_for(doc.get("apiVersion", ""), doc.get("kind", ""))
            if cls is None:
                problems.append(f"{where}: no model for {doc.get('apiVersion')} {doc.get('kind')}")
                continue
            check(doc, cls.__name__, where, problems)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)

main()
