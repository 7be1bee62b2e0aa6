package database

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// pgx sends a github.com/google/uuid UUID through its driver.Valuer: as a
// string, planned anew and parsed back into 16 bytes for every argument.
// Under load that was 6 % of Intake's CPU (docs/BENCHMARKS.md, "Where
// the CPU goes, and the minimal ceiling"). encodeUUIDs makes a connection
// send it as the [16]byte it is, the form pgx's uuid codec takes directly
// (and arrays of them alike). Reading is unchanged: uuid.UUID's Scan takes
// NULL, which a [16]byte cannot.
func encodeUUIDs(_ context.Context, conn *pgx.Conn) error {
	m := conn.TypeMap()
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{wrapUUID}, m.TryWrapEncodePlanFuncs...)
	return nil
}

func wrapUUID(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	if u, ok := value.(uuid.UUID); ok {
		return &uuidPlan{}, [16]byte(u), true
	}
	return nil, nil, false
}

type uuidPlan struct{ next pgtype.EncodePlan }

func (p *uuidPlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidPlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode([16]byte(value.(uuid.UUID)), buf)
}
