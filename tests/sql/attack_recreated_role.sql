-- Attack: a role's name outliving the role. team_roles named roles, and the policy matched
-- the name: DROP ROLE left the row, and whoever next created a role of that name
-- (CREATEROLE is enough) was given the team. A membership now holds the role's OID
-- (role_oid), set from the name whenever the row is written.
BEGIN;
CREATE ROLE regress_departed NOLOGIN IN ROLE llm_clusters_reader;
INSERT INTO llm_clusters.team_roles VALUES (1, 'regress_departed');
SELECT regress.planted(1, 'departed', 5, 1, now() - interval '1 day');
SET ROLE regress_departed;
SELECT count(*) > 0 AS the_member_sees_its_team FROM llm_clusters.events WHERE team_id = 1;
RESET ROLE;
DROP ROLE regress_departed;
-- Someone who may create roles makes one of the same name.
CREATE ROLE regress_departed NOLOGIN IN ROLE llm_clusters_reader;
SET ROLE regress_departed;
SELECT count(*) AS a_new_role_of_that_name_sees FROM llm_clusters.events WHERE team_id = 1;
SELECT count(*) AS its_memberships FROM llm_clusters.team_roles;
RESET ROLE;
-- Written again by a superuser, the row gives the team to the role now of that name.
UPDATE llm_clusters.team_roles SET role_name = role_name WHERE role_name = 'regress_departed';
SET ROLE regress_departed;
SELECT count(*) > 0 AS after_the_row_is_written_again FROM llm_clusters.events WHERE team_id = 1;
RESET ROLE;
-- A role renamed keeps its teams, as it keeps its grants.
ALTER ROLE regress_departed RENAME TO regress_renamed;
SET ROLE regress_renamed;
SELECT count(*) > 0 AS a_renamed_role_keeps_its_team FROM llm_clusters.events WHERE team_id = 1;
RESET ROLE;
-- A row naming no role gives nothing, and says so.
INSERT INTO llm_clusters.team_roles VALUES (2, 'regress_nobody_yet');
SELECT role_oid IS NULL AS no_role FROM llm_clusters.team_roles WHERE role_name = 'regress_nobody_yet';
ROLLBACK;
