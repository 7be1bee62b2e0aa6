// Package database opens Intake's Postgres pool, creating the database when it
// is missing, and holds the one transaction helper every service uses.
//
// Its tables: instance_settings (the instance's generated secret),
// serve_nodes (the serve processes alive, nodes.go), and
// River's river_job where Intake writes it by hand — the job rows of the
// submissions' group write (submissions/write.go), built by River and
// inserted as River's own batch insert would (riverjobs.go). River owns
// that table otherwise: its schema (migrations) and every other statement
// on it — but the deletion of a person's erased submissions' jobs
// (erase.go, a part of package people's erasure).
package database
