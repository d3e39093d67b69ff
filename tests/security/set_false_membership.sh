#!/usr/bin/env bash
# PostgreSQL 16+'s memberships WITH INHERIT FALSE, SET FALSE (pg_hba's +group, say), which
# give none of the role's privileges (the reproduction of two security issues), on
# PostgreSQL 18. Both passed pg_has_role(..., 'MEMBER'):
#  1. Job owners. alice, team 3's admin, is such a member of finance_readers and may not
#     read finance.salaries; she made finance_readers the owner of her job over a view of
#     her own, the run read the salaries as finance_readers, and she read them in
#     cluster_items. A job's owner must now be a role its writer may SET ROLE to
#     (PostgreSQL's own rule for ALTER ... OWNER TO), for a new job, a new owner, and a
#     change of what another owner's job reads.
#  2. Teams. carol, a reader of team 3, is such a member of team 7's role, and saw team 7's
#     rows. Team membership is now having the team role's privileges (USAGE).
set -euo pipefail
source "$(dirname "$0")/../e2e/lib.sh"
e2e_setup 18 55932

as() { local role=$1; shift; pg -U "$role" -At "$@"; }
# refused ROLE SQL: the statement must fail with 42501 (insufficient_privilege).
refused() {
  local out
  out=$(as "$1" -v VERBOSITY=verbose -c "$2" 2>&1) && fail "$1 ran: $2 ($out)"
  grep -q 42501 <<<"$out" || fail "$1: $2 failed otherwise: $out"
}

pg -c "CREATE EXTENSION llm_clusters"
pg <<'SQL'
CREATE SCHEMA finance;
CREATE TABLE finance.salaries (who text, salary int);
INSERT INTO finance.salaries SELECT 'staff' || i, 1000 * i FROM generate_series(1, 9) i;
CREATE ROLE finance_readers NOLOGIN;
GRANT USAGE ON SCHEMA finance TO finance_readers;
GRANT SELECT ON finance.salaries TO finance_readers;
CREATE ROLE alice LOGIN IN ROLE llm_clusters_admin;
INSERT INTO llm_clusters.team_roles VALUES (3, 'alice');
GRANT finance_readers TO alice WITH INHERIT FALSE, SET FALSE;
CREATE SCHEMA alice AUTHORIZATION alice;
SQL
refused alice "SELECT count(*) FROM finance.salaries"
pass "alice may not read finance.salaries"
# Her view reads the table through dynamic SQL, so that it names nothing she may not see.
as alice <<'SQL'
CREATE FUNCTION alice.rows() RETURNS TABLE (who text, salary int) LANGUAGE plpgsql AS
    $$ BEGIN RETURN QUERY EXECUTE 'SELECT who, salary FROM finance.salaries'; END $$;
CREATE VIEW alice.src AS
SELECT 3 AS team_id, r.who AS item_id, r.who AS trace_id, now() - interval '1 hour' AS ts,
       ARRAY[r.salary::real, 1]::real[] AS embedding, r.who || ' earns ' || r.salary AS content,
       0::float8 AS cost_usd, 0::float8 AS latency_s, 0::bigint AS tokens, false AS is_error, '{}'::jsonb AS properties
FROM alice.rows() r;
GRANT USAGE ON SCHEMA alice TO finance_readers;
GRANT SELECT ON alice.src TO finance_readers;
GRANT EXECUTE ON FUNCTION alice.rows() TO finance_readers;
SQL
job=$(as alice -c "SELECT llm_clusters.create_job('mine', 'generation', team_id => 3, source => 'alice.src', params => '{\"min_items\": 3}')")
refused alice "UPDATE llm_clusters.jobs SET owner = 'finance_readers' WHERE id = $job"
refused alice "INSERT INTO llm_clusters.jobs (team_id, name, level, source, owner) VALUES (3, 'as finance', 'generation', 'alice.src', 'finance_readers')"
pass "alice may not make finance_readers the owner of a job"
# A job finance_readers owns in her team: she may not change what it reads either.
pg -c "GRANT llm_clusters_reader TO finance_readers"
theirs=$(pg -At -c "INSERT INTO llm_clusters.jobs (team_id, name, level, owner) VALUES (3, 'theirs', 'generation', 'finance_readers') RETURNING id")
refused alice "UPDATE llm_clusters.jobs SET source = 'alice.src' WHERE id = $theirs"
pass "alice may not point finance_readers' job at her view"
# With SET (what SET ROLE needs), the same owner is hers to give.
pg -c "REVOKE finance_readers FROM alice; GRANT finance_readers TO alice WITH INHERIT FALSE, SET TRUE"
as alice -c "UPDATE llm_clusters.jobs SET owner = 'finance_readers' WHERE id = $job" >/dev/null
pass "with SET TRUE, alice may make finance_readers the owner"

pg -o /dev/null <<'SQL'
CREATE ROLE team7_group NOLOGIN;
INSERT INTO llm_clusters.team_roles VALUES (7, 'team7_group');
INSERT INTO llm_clusters.events (uuid, team_id, event, "timestamp", trace_id, properties)
VALUES (gen_random_uuid(), 7, '$ai_generation', now(), 'team 7 only', '{}');
CREATE ROLE carol LOGIN IN ROLE llm_clusters_reader;
INSERT INTO llm_clusters.team_roles VALUES (3, 'carol');
GRANT team7_group TO carol WITH INHERIT FALSE, SET FALSE;
CREATE ROLE dave LOGIN IN ROLE llm_clusters_reader;
GRANT team7_group TO dave;
SQL
[ "$(as carol -c "SELECT count(*) FROM llm_clusters.events WHERE team_id = 7")" = 0 ] \
  || fail "carol sees team 7's events through a membership WITH INHERIT FALSE, SET FALSE"
[ "$(as carol -c "SELECT count(*) FROM llm_clusters.team_roles WHERE team_id = 7")" = 0 ] || fail "carol sees team 7's roles"
pass "a membership WITH INHERIT FALSE, SET FALSE in team 7's role shows none of its rows"
[ "$(as dave -c "SELECT count(*) FROM llm_clusters.events WHERE team_id = 7")" = 1 ] || fail "dave, a plain member, does not see team 7"
pass "a plain member of team 7's role sees its rows"
say "memberships WITH SET FALSE: all checks passed"
