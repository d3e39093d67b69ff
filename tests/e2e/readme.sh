#!/usr/bin/env bash
# The README's facts against the code and an installed catalog, on a throw-away cluster:
#  1. its quick start runs as written and gives what it says: three clusters of 20, one
#     per kind of request;
#  2. every version it names is Cargo's (package names: exactly Cargo's) or an older
#     version this repository has SQL scripts of;
#  3. every llm_clusters.NAME it names is a function, view, table or setting that exists,
#     and every `llm_clusters.f(args) → result` heading matches the catalog's signature;
#  4. the other way round: every public function has a reference heading, every view and
#     table is named, every setting has a row in Configuration, every job param a row
#     in the params table, and every role the extension creates is dropped under
#     Uninstalling.
# A function, view, table or setting added without its README text fails here, listed.
# Usage: tests/e2e/readme.sh [15|16|18]   (default 18)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ver=${1:-18}
readme=$REPO_ROOT/README.md

# Preloaded, so that every setting exists (some are defined only at server start); the
# worker is off: nothing but the quick start runs.
e2e_setup "$ver" $((55970 + ver)) "shared_preload_libraries = 'llm_clusters'" "llm_clusters.scheduler_enabled = off"
say "the README's quick start and names on PostgreSQL $ver"

# 1. The quick start: the first ```sql block after "## Quick start", run as it is.
quick=$work/quick_start.sql
awk '/^## Quick start/ {s = 1} s && /^```sql/ {b = 1; next} b && /^```/ {exit} b' "$readme" >"$quick"
grep -q 'llm_clusters.run_job' "$quick" || fail "no quick start block found in README.md"
# The block runs in one session, as a user would paste it; its output is printed.
pg -f "$quick"
expect "the quick start's run succeeded" \
  "SELECT status FROM llm_clusters.run_list WHERE job_name = 'quick start'" succeeded
expect "the quick start gives what the README says: three clusters of 20 items" \
  "SELECT string_agg(c.size::text, ' ' ORDER BY c.position) FROM llm_clusters.cluster_cards c
   JOIN llm_clusters.latest_runs r ON r.run_id = c.run_id AND r.job_name = 'quick start'" "20 20 20"
# The three request templates must not share a cluster (Outliers aside), and each must
# have one: a run that lumped two kinds together, or found nothing, would fail here.
expect "the quick start clusters its three kinds of request apart" \
  "WITH placed AS (
     SELECT a.cluster_id, CASE WHEN i.content LIKE '%password%' THEN 'password'
                               WHEN i.content LIKE '%French%' THEN 'translation'
                               WHEN i.content LIKE '%recipe%' THEN 'recipe' END AS kind
     FROM llm_clusters.assignments a
     JOIN llm_clusters.run_list r ON r.run_id = a.run_id AND r.job_name = 'quick start'
     JOIN llm_clusters.generation_items i ON i.item_id = a.item_id
     WHERE a.cluster_id <> -1)
   SELECT (SELECT bool_and(kinds = 1) FROM (SELECT count(DISTINCT kind) AS kinds FROM placed GROUP BY cluster_id) c)
      AND (SELECT count(DISTINCT kind) FROM placed WHERE kind IS NOT NULL) = 3" t

# 2-4. The catalog as the checker reads it: public functions with their signatures,
# relations, settings and roles (a leading underscore marks an internal one).
pg -At -F $'\t' -c "SELECT 'function', p.proname, pg_get_function_identity_arguments(p.oid),
                            CASE p.prokind WHEN 'a' THEN format_type(p.prorettype, NULL) ELSE pg_get_function_result(p.oid) END
                     FROM pg_proc p WHERE p.pronamespace = 'llm_clusters'::regnamespace AND p.proname !~ '^_'
                     UNION ALL
                     SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END, c.relname, '', ''
                     FROM pg_class c WHERE c.relnamespace = 'llm_clusters'::regnamespace AND c.relkind IN ('r', 'v', 'p')
                       AND c.relname !~ '^_'
                     UNION ALL
                     SELECT 'role', rolname, '', '' FROM pg_roles WHERE rolname LIKE 'llm\_clusters\_%'" >"$work/catalog.tsv"
pg -At -F $'\t' -c "SELECT 'setting', name, '', '' FROM pg_settings WHERE name LIKE 'llm\_clusters.%'" >>"$work/catalog.tsv"
# Settings hidden from pg_settings (the AI key) exist for current_setting() all the same.
names=$(grep -o 'llm_clusters\.[a-z_][a-z0-9_]*' "$readme" | sort -u | sed "s/.*/'&'/" | paste -sd,)
pg -At -F $'\t' -c "SELECT 'setting', n, '', '' FROM unnest(ARRAY[$names]::text[]) n WHERE current_setting(n, true) IS NOT NULL" \
  >>"$work/catalog.tsv"
grep -q $'^setting\tllm_clusters.embedder' "$work/catalog.tsv" || fail "the extension's settings were not listed"

python3 - "$readme" "$REPO_ROOT" "$work/catalog.tsv" <<'PY'
import glob, os, re, sys

readme_path, root, catalog_path = sys.argv[1:4]
text = open(readme_path).read()
problems = []

def cargo_version(path):
    return re.search(r'^version = "([^"]+)"', open(path).read(), re.M).group(1)

# --- 2. Versions -------------------------------------------------------------------
version = cargo_version(os.path.join(root, "Cargo.toml"))
server_version = cargo_version(os.path.join(root, "server", "Cargo.toml"))
history = {version}
for script in glob.glob(os.path.join(root, "sql", "llm_clusters--*.sql")):
    history.update(re.findall(r"\d+\.\d+\.\d+", os.path.basename(script)))
# Other projects' pinned versions (name==1.2.3, name@1.2.3, cargo-pgrx 0.18.0) and
# addresses are not ours.
ours = re.sub(r"[\w.-]+(?:==|@)\d+(?:\.\d+)+|cargo-pgrx \d+\.\d+\.\d+|\d+\.\d+\.\d+\.\d+", " ", text)
for v in sorted(set(re.findall(r"(?<![\w.])\d+\.\d+\.\d+(?![\w.]*\d)", ours))):
    if v not in history:
        problems.append(f"version {v}: neither Cargo's ({version}) nor one with sql/llm_clusters--*.sql scripts")
packages = re.findall(r"(postgresql-\d+-llm-clusters_|llm_clusters-)(\d+\.\d+\.\d+)", text)
packages += [("llm-clusters-server_", v) for v in re.findall(r"llm-clusters-server_(\d+\.\d+\.\d+)", text)]
for prefix, v in packages:
    want = server_version if prefix.startswith("llm-clusters-server") else version
    if v != want:
        problems.append(f"package {prefix}{v}: the packages of this version are named {prefix}{want}")

# --- 3 and 4. Names ----------------------------------------------------------------
catalog = {}
for line in open(catalog_path):
    kind, name, args, result = (line.rstrip("\n").split("\t") + ["", "", ""])[:4]
    catalog.setdefault(kind, {}).setdefault(name, []).append((args, result))
functions, settings = catalog.get("function", {}), catalog.get("setting", {})
relations = {**catalog.get("view", {}), **catalog.get("table", {})}

named = set(re.findall(r"\bllm_clusters\.([a-z_][a-z0-9_]*)", text))
for name in sorted(named):
    if name not in functions and name not in relations and f"llm_clusters.{name}" not in settings:
        problems.append(f"llm_clusters.{name} is named in the README but is no function, view, table or setting")

# Signatures: the README's spelling normalised to the catalog's.
ALIASES = [(r"\bint\b", "integer"), (r"\bfloat8\b", "double precision"), (r"\bbool\b", "boolean"),
           (r"\btimestamptz\b", "timestamp with time zone"), (r"\bint8\b", "bigint"), (r"\bint4\b", "integer")]

def normalise(signature):
    signature = re.sub(r"\s+DEFAULT\s+('[^']*'|\w+\(\)|[^,)]+)", "", signature)
    for alias, name in ALIASES:
        signature = re.sub(alias, name, signature)
    signature = re.sub(r"\s*\(\s*", "(", signature)
    signature = re.sub(r"\s*\)\s*", ")", signature)
    return re.sub(r"\s*,\s*", ", ", re.sub(r"\s+", " ", signature)).strip().lower()

headings = re.findall(r"^#### `llm_clusters\.([a-z_0-9]+)\((.*?)\)(?: → (.*?))?`", text, re.M)
documented = set()
for name, args, result in headings:
    documented.add(name)
    if name not in functions:
        continue  # reported above
    wanted = (normalise(args), normalise(result))
    found = [(normalise(a), normalise(r)) for a, r in functions[name]]
    if wanted not in found:
        have = "; ".join(f"({a}) → {r}" for a, r in functions[name])
        problems.append(f"llm_clusters.{name}({args}) → {result}: the catalog has {have}")

for name in sorted(set(functions) - documented):
    a, r = functions[name][0]
    problems.append(f"function llm_clusters.{name}({a}) → {r} has no '#### `llm_clusters.{name}(...)`' heading in the reference")
for name in sorted(set(relations) - named):
    kind = "view" if name in catalog.get("view", {}) else "table"
    problems.append(f"{kind} llm_clusters.{name} is not named in the README")
config = set(re.findall(r"^\| `(llm_clusters\.[a-z_0-9]+)`", text, re.M))
for name in sorted(set(settings) - config):
    problems.append(f"setting {name} has no row in the README's Configuration table")

roles = set(catalog.get("role", {}))
uninstall = text.split("## Uninstalling", 1)[-1].split("\n## ", 1)[0]
dropped = set(re.findall(r"DROP ROLE (\w+)", uninstall))
for role in sorted(roles - dropped):
    problems.append(f"role {role} is not dropped under Uninstalling")
for role in sorted(set(re.findall(r"(?<![/\w])(llm_clusters_(?:admin|reader|ingest|[a-z]+))\b", text))
                   - roles - {"llm_clusters_engine", "llm_clusters_server"}):
    problems.append(f"role {role} is named in the README but the extension does not create it")

# Job params: every key the engine accepts (its `KEYS` list) has a row in the params table.
keys = None
for source in glob.glob(os.path.join(root, "engine", "src", "**", "*.rs"), recursive=True):
    found = re.search(r"pub const KEYS: &\[&str\] = &\[(.*?)\];", open(source).read(), re.S)
    if found:
        keys = re.findall(r'"([a-z_]+)"', found.group(1))
if keys is None:
    problems.append("the engine's list of job params (pub const KEYS) was not found")
params_rows = " ".join(re.findall(r"^\| (`[a-z_]+`(?:, `[a-z_]+`)*) \|", text, re.M))
for key in keys or []:
    if f"`{key}`" not in params_rows:
        problems.append(f"job param {key} has no row in the README's params table")

if problems:
    print("README.md does not match the code:", *problems, sep="\n  - ")
    sys.exit(1)
print(f"ok: versions ({version}, history {sorted(history)}); {len(named)} names, {len(headings)} signatures, "
      f"{len(functions)} functions, {len(relations)} views and tables, {len(settings)} settings, "
      f"{len(roles)} roles: all in the README and in the catalog")
PY
say "the README's facts hold on PostgreSQL $ver"
