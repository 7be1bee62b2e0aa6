package database_test

import (
	"testing"

	"github.com/intakehq/intake/database"
)

// A part of an assembled statement keeps its own numbering ($1…) and is
// moved past the parts before it; anything else with a $ stays.
func TestRenumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sql    string
		offset int
		want   string
	}{
		{`SELECT $1, $2`, 0, `SELECT $1, $2`},
		{`SELECT $1::int[], $10, $2`, 9, `SELECT $10::int[], $19, $11`},
		{`unnest($1::uuid[], $12::integer[])`, 26, `unnest($27::uuid[], $38::integer[])`},
		{`SELECT '$', $ , $x, $1`, 3, `SELECT '$', $ , $x, $4`},
		{`SELECT $1`, 41, `SELECT $42`},
		{`$1`, 1, `$2`},
		{`no placeholders`, 5, `no placeholders`},
	} {
		if got := database.Renumber(tc.sql, tc.offset); got != tc.want {
			t.Errorf("Renumber(%q, %d) = %q, want %q", tc.sql, tc.offset, got, tc.want)
		}
	}
}
