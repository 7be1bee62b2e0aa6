package database_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/intakehq/intake/internal/testdb"
)

// A uuid.UUID goes to Postgres as its 16 bytes (the uuid plan, not its
// driver.Valuer's string), alone, as a pointer and in arrays, and comes
// back the same; a nil pointer is NULL.
func TestUUIDsSentAsBytes(t *testing.T) {
	t.Parallel()
	db, _ := testdb.New(t)
	ctx := context.Background()
	conn, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	id := uuid.Must(uuid.NewV7())
	plan := conn.Conn().TypeMap().PlanEncode(pgtype.UUIDOID, pgtype.BinaryFormatCode, id)
	if got := fmt.Sprintf("%T", plan); got != "*database.uuidPlan" {
		t.Errorf("a uuid.UUID is encoded by %s, want *database.uuidPlan", got)
	}

	var text string
	var back uuid.UUID
	if err := conn.QueryRow(ctx, `SELECT $1::uuid::text, $1::uuid`, id).Scan(&text, &back); err != nil || text != id.String() || back != id {
		t.Errorf("sent %s, read %q and %s (%v)", id, text, back, err)
	}
	var isNull bool
	if err := conn.QueryRow(ctx, `SELECT $1::uuid IS NULL`, (*uuid.UUID)(nil)).Scan(&isNull); err != nil || !isNull {
		t.Errorf("a nil *uuid.UUID: NULL %v (%v)", isNull, err)
	}
	if err := conn.QueryRow(ctx, `SELECT $1::uuid::text`, &id).Scan(&text); err != nil || text != id.String() {
		t.Errorf("a *uuid.UUID: read %q (%v)", text, err)
	}
	ids := []uuid.UUID{id, uuid.Nil, uuid.Must(uuid.NewRandom())}
	rows, err := conn.Query(ctx, `SELECT x::text FROM unnest($1::uuid[]) WITH ORDINALITY AS u (x, n) ORDER BY n`, ids)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	want := []string{ids[0].String(), ids[1].String(), ids[2].String()}
	if err != nil || !slices.Equal(texts, want) {
		t.Errorf("an array: read %v (%v), want %v", texts, err, want)
	}
}
