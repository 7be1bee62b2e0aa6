package audit

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/intakehq/intake/database"
)

// Actor kinds.
const (
	ActorUser   = "user"    // a dashboard user, by their session
	ActorAPIKey = "api_key" // an API key
	ActorCLI    = "cli"     // the intake command on the server
	ActorSystem = "system"  // Intake itself
	ActorLink   = "link"    // someone not logged in, following a link Intake mailed them
)

// Actor is who makes a change: passed explicitly by the edge to the service
// that records it.
type Actor struct {
	Kind     string
	UserID   int64  // ActorUser
	APIKeyID int64  // ActorAPIKey
	Address  string // the client's address (httpedge.ClientIP); "" for the CLI
}

// User is a dashboard user's actor.
func User(userID int64, address string) Actor {
	return Actor{Kind: ActorUser, UserID: userID, Address: address}
}

// APIKey is an API key's actor.
func APIKey(keyID int64, address string) Actor {
	return Actor{Kind: ActorAPIKey, APIKeyID: keyID, Address: address}
}

// Link is the actor of a change made by following a link Intake mailed (a
// notification recipient confirming or unsubscribing), from address.
func Link(address string) Actor {
	return Actor{Kind: ActorLink, Address: address}
}

// CLI is the actor of the intake command's changes.
var CLI = Actor{Kind: ActorCLI}

// Entry is one change to record.
type Entry struct {
	AccountID  int64
	Actor      Actor
	Action     string // object type and verb: "form.update"
	ObjectType string // "form", "submission", "webhook", "api_key", "user"
	ObjectID   string // the object's public id
	Changed    []string
	// Count is how many objects a change to many at once covered (the
	// submissions a retention run deleted, say); 0 for a change to one
	// object. A change to none is no change and has no entry.
	Count int64
}

const recordSQL = `INSERT INTO audit_log (account_id, actor_kind, actor_user_id, actor_key_id, client_ip, action, object_type, object_id, changed, count)
VALUES ($1, $2, nullif($3, 0), nullif($4, 0), $5, $6, $7, $8, $9, nullif($10, 0))`

// Record appends e to the log on tx, the transaction of the change it
// records. An actor without a kind is a bug of the caller and an error.
func Record(ctx context.Context, tx database.Executor, e Entry) error {
	switch e.Actor.Kind {
	case ActorUser, ActorAPIKey, ActorCLI, ActorSystem, ActorLink:
	default:
		return fmt.Errorf("audit: %s of %s %s without an actor", e.Action, e.ObjectType, e.ObjectID)
	}
	changed := slices.Clone(e.Changed)
	if changed == nil {
		changed = []string{}
	}
	slices.Sort(changed)
	changed = slices.Compact(changed)
	_, err := tx.Exec(ctx, recordSQL, e.AccountID, e.Actor.Kind, e.Actor.UserID, e.Actor.APIKeyID, e.Actor.Address,
		e.Action, e.ObjectType, e.ObjectID, changed, e.Count)
	return err
}

// Logged is an entry as listed.
type Logged struct {
	ID        int64
	At        time.Time
	ActorKind string
	ActorID   string // the API key's public id or the user's email; "" when gone or none
	// ActorUserID is the user's id for a user's change, kept when the user
	// is gone (ActorID is then ""), so a page can say which one it was.
	ActorUserID int64
	Address     string
	Action      string
	ObjectType  string
	ObjectID    string
	Changed     []string
	Count       int64 // Entry.Count
}

// The actor's name is read at listing time (a join where a join is the
// query): a key or user deleted since shows as none. The email is not kept
// at write time on purpose: the log is append-only, and a person's address
// must go with the person (an erasure), while "user #N" names no one. A
// user is named wherever they are now: one who left the account still did
// what they did in it.
const listSQL = `
SELECT l.id, l.at, l.actor_kind, coalesce(k.public_id, u.email, ''), coalesce(l.actor_user_id, 0), l.client_ip, l.action, l.object_type, l.object_id, l.changed, coalesce(l.count, 0)
FROM audit_log l
LEFT JOIN api_keys k ON k.id = l.actor_key_id AND k.account_id = l.account_id
LEFT JOIN users u ON u.id = l.actor_user_id
WHERE l.account_id = $1 AND ($2::bigint IS NULL OR l.id < $2) AND ($3 = '' OR l.object_id = $3)
ORDER BY l.id DESC LIMIT $4`

// List returns up to limit of the account's entries, newest first, from
// before the entry with id before (nil: from the newest), only those of
// the object with public id object when it is not "".
func List(ctx context.Context, db database.Executor, accountID int64, before *int64, object string, limit int) ([]Logged, error) {
	rows, err := db.Query(ctx, listSQL, accountID, before, object, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Logged, error) {
		var l Logged
		err := row.Scan(&l.ID, &l.At, &l.ActorKind, &l.ActorID, &l.ActorUserID, &l.Address, &l.Action, &l.ObjectType, &l.ObjectID, &l.Changed, &l.Count)
		return l, err
	})
}

// System is the actor of changes Intake makes itself, and of fixtures.
var System = Actor{Kind: ActorSystem}
