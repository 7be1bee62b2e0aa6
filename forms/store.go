package forms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/database"
)

const formColumns = `f.id, f.public_id, f.account_id, f.name, f.settings, f.contract_version,
	f.created_at, f.updated_at, f.archived_at, c.fields, f.captcha_secret`

const formFrom = `FROM forms f JOIN form_contracts c ON c.form_id = f.id AND c.version = f.contract_version`

func scanForm(row pgx.Row) (*Form, error) { return scanFormWith(row, nil) }

// scanFormWith scans a form; with a cache, its settings and contract are
// decoded only when their stored bytes differ from the last ones seen.
func scanFormWith(row pgx.Row, cache *decodeCache) (*Form, error) {
	var (
		f              Form
		settings, flds []byte
	)
	err := row.Scan(&f.ID, &f.PublicID, &f.AccountID, &f.Name, &settings, &f.Contract.Version,
		&f.CreatedAt, &f.UpdatedAt, &f.ArchivedAt, &flds, &f.captchaSecret)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if d := cache.get(f.ID, settings, flds); d != nil {
		f.Settings, f.Contract.Fields = d.settings, d.fields
	} else {
		if err := json.Unmarshal(settings, &f.Settings); err != nil {
			return nil, fmt.Errorf("form %s: decode settings: %w", f.PublicID, err)
		}
		f.Settings = f.Settings.WithDefaults()
		if err := json.Unmarshal(flds, &f.Contract.Fields); err != nil {
			return nil, fmt.Errorf("form %s: decode contract: %w", f.PublicID, err)
		}
		cache.put(f.ID, settings, flds, f.Settings, f.Contract.Fields)
	}
	f.Settings.Captcha.Secret, f.Settings.Captcha.SecretSet = nil, f.captchaSecret != ""
	return &f, nil
}

// decodeCache keeps each form's last decoded settings and contract with the
// bytes they came from. The submission path reads its form on every
// request, and decoding the JSON was a tenth of its CPU; the bytes are
// still read each time, so an edit (through Intake or straight in SQL) is
// seen at once.
type decodeCache struct {
	mu    sync.Mutex
	forms map[int64]*decodedForm
}

type decodedForm struct {
	rawSettings, rawFields []byte
	settings               Settings
	fields                 []Field
}

// maxCachedForms bounds the cache; past it, it starts again empty.
const maxCachedForms = 10_000

func (c *decodeCache) get(id int64, settings, fields []byte) *decodedForm {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	d := c.forms[id]
	c.mu.Unlock()
	if d == nil || !bytes.Equal(d.rawSettings, settings) || !bytes.Equal(d.rawFields, fields) {
		return nil
	}
	return d
}

func (c *decodeCache) put(id int64, rawSettings, rawFields []byte, s Settings, fields []Field) {
	if c == nil {
		return
	}
	d := &decodedForm{rawSettings: bytes.Clone(rawSettings), rawFields: bytes.Clone(rawFields), settings: s, fields: fields}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forms == nil || len(c.forms) >= maxCachedForms {
		c.forms = map[int64]*decodedForm{}
	}
	c.forms[id] = d
}

var sharedDecodes = &decodeCache{}

const byPublicIDSQL = `SELECT ` + formColumns + ` ` + formFrom + ` WHERE f.public_id = $1`

// ByPublicID returns the form with its current contract, archived or not.
// It returns ErrNotFound when there is none.
func ByPublicID(ctx context.Context, db database.Executor, publicID string) (*Form, error) {
	if !ValidPublicID(publicID) {
		return nil, ErrNotFound
	}
	return scanForm(db.QueryRow(ctx, byPublicIDSQL, publicID))
}

// QueueByPublicID adds ByPublicID's read to b; after b is read *out holds
// the form. It returns ErrNotFound at once for an id that cannot exist, and
// reading b fails with ErrNotFound when there is no such form. It is the
// submission path's read: the form's Settings and Contract.Fields may be
// shared with other requests' forms and must not be modified.
func QueueByPublicID(b *pgx.Batch, publicID string, out **Form) error {
	if !ValidPublicID(publicID) {
		return ErrNotFound
	}
	b.Queue(byPublicIDSQL, publicID).QueryRow(func(row pgx.Row) error {
		f, err := scanFormWith(row, sharedDecodes)
		*out = f
		return err
	})
	return nil
}

const forAccountSQL = `SELECT ` + formColumns + ` ` + formFrom + ` WHERE f.public_id = $1 AND f.account_id = $2`

// ForAccount returns the account's form with that public id. It returns
// ErrNotFound when there is none or it belongs to another account.
func ForAccount(ctx context.Context, db database.Executor, accountID int64, publicID string) (*Form, error) {
	if !ValidPublicID(publicID) {
		return nil, ErrNotFound
	}
	return scanForm(db.QueryRow(ctx, forAccountSQL, publicID, accountID))
}

const listSQL = `SELECT ` + formColumns + ` ` + formFrom + `
WHERE f.account_id = $1 AND f.archived_at IS NULL AND ($2::bigint IS NULL OR f.id < $2)
ORDER BY f.id DESC LIMIT $3`

// List returns up to limit of the account's live forms, newest first, from
// before the form with internal id before (nil: from the newest).
func List(ctx context.Context, db database.Executor, accountID int64, before *int64, limit int) ([]*Form, error) {
	rows, err := db.Query(ctx, listSQL, accountID, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Form
	for rows.Next() {
		f, err := scanForm(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// The form and its first contract in one statement: atomic without a
// transaction, one round trip.
const insertSQL = `
WITH f AS (
	INSERT INTO forms (public_id, account_id, name, settings, contract_version, created_at, updated_at, captcha_secret)
	VALUES ($1, $2, $3, $4, 1, $6, $6, $7)
	RETURNING id
)
INSERT INTO form_contracts (form_id, version, fields, created_at)
SELECT id, 1, $5, $6 FROM f
RETURNING form_id`

func insert(ctx context.Context, db database.Executor, f *Form) error {
	settings, err := json.Marshal(f.Settings.stored())
	if err != nil {
		return err
	}
	fields, err := json.Marshal(f.Contract.Fields)
	if err != nil {
		return err
	}
	return db.QueryRow(ctx, insertSQL, f.PublicID, f.AccountID, f.Name, settings, fields, f.CreatedAt, f.captchaSecret).Scan(&f.ID)
}

// RecipientSync keeps a form's notification recipients in step with its
// settings.notify_emails (notify.RecipientSync): Sync runs in the
// transaction that creates or changes the form, after the form is written,
// so the confirmation emails of added addresses are enqueued with the
// change or not at all. A nil RecipientSync keeps none (tests, the bench).
type RecipientSync interface {
	Sync(ctx context.Context, tx pgx.Tx, f *Form) error
}

// Create stores a new form for the account after checking in; it makes the
// public id, seals a CAPTCHA secret with box and has recipients (may be
// nil) take the form's notification addresses in the same transaction,
// recording "form.create" by actor there too. It returns a
// *ValidationError when in is not a valid form.
func Create(ctx context.Context, db *pgxpool.Pool, val *Validator, box Sealer, recipients RecipientSync, actor audit.Actor, accountID int64, in Input) (*Form, error) {
	in.Settings.Captcha.SecretSet = false // read-only: a new form has none
	if err := val.CheckInput(in); err != nil {
		return nil, err
	}
	secret := ""
	if in.Settings.Captcha.Secret != nil {
		secret = *in.Settings.Captcha.Secret
	}
	in.Settings.Captcha.Secret, in.Settings.Captcha.SecretSet = nil, secret != ""
	now := time.Now().UTC().Truncate(time.Microsecond)
	f := &Form{
		AccountID: accountID,
		Name:      in.Name,
		Settings:  in.Settings.WithDefaults(),
		Contract:  Contract{Version: 1, Fields: in.Fields},
		CreatedAt: now,
		UpdatedAt: now,
	}
	if f.Contract.Fields == nil {
		f.Contract.Fields = []Field{}
	}
	for attempt := 0; ; attempt++ {
		f.PublicID = NewPublicID()
		f.captchaSecret = sealCaptcha(box, secret, f.PublicID)
		err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
			if err := insert(ctx, tx, f); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: "form.create",
				ObjectType: "form", ObjectID: f.PublicID}); err != nil {
				return err
			}
			if recipients == nil {
				return nil
			}
			return recipients.Sync(ctx, tx, f)
		})
		if err == nil {
			return f, nil
		}
		// 40 bits of id: a collision is rare, two in a row rarer still.
		if !database.IsUniqueViolation(err, "forms_public_id_key") || attempt == 4 {
			return nil, err
		}
	}
}

// Input is a form as a client creates it.
type Input struct {
	Name     string   `json:"name"`
	Fields   []Field  `json:"fields"`
	Settings Settings `json:"settings"`
}

// CheckInput returns a *ValidationError for every problem with in, or nil.
func (val *Validator) CheckInput(in Input) error {
	return val.checkInput(in, nil)
}

// CheckChange is CheckInput for a change of f into in: a field f has
// keeps a name that was allowed when it was saved (one with a space), so
// that a form made then can still be saved. It returns a
// *ValidationError for every problem, or nil.
func (val *Validator) CheckChange(f *Form, in Input) error {
	kept := map[string]bool{}
	for _, field := range f.Contract.Fields {
		kept[field.Name] = true
	}
	return val.checkInput(in, kept)
}

func (val *Validator) checkInput(in Input, kept map[string]bool) error {
	errs := &ValidationError{}
	switch {
	case in.Name == "":
		errs.add("name", CodeInvalid, "required", "name is required", Pointer("name"))
	case len(in.Name) > MaxNameLength:
		errs.add("name", CodeInvalid, "max", fmt.Sprintf("name is longer than %d characters", MaxNameLength), Pointer("name"))
	}
	checkText(in, errs)
	val.checkFields(in.Fields, kept, errs)
	in.Settings.WithDefaults().check(errs)
	in.Settings.WithDefaults().Unique.check(in.Fields, errs)
	in.Settings.NotificationEmail.check(in.Fields, errs)
	in.Settings.Branding.check(errs)
	return errs.orNil()
}

// Patch is a change to a form; nil members are left as they are. Settings
// members given replace those members only.
type Patch struct {
	Name     *string         `json:"name"`
	Fields   *[]Field        `json:"fields"`
	Settings json.RawMessage `json:"settings"`
	// UnchangedSince, when set, makes Update refuse (ErrStale) if the form
	// was changed after it: an editor opened on an older version must not
	// silently undo a newer save.
	UnchangedSince *time.Time `json:"-"`
}

// Update applies p to the account's form publicID, sealing a new CAPTCHA
// secret with box, and has recipients (may be nil) follow the form's
// notification addresses in the same transaction, where it also records
// "form.update" by actor with the names of what changed (a change that
// changes nothing records nothing). A change to the fields makes a new
// contract version; submissions keep the version they met. It returns
// ErrNotFound, ErrStale, or a *ValidationError when the result is not a
// valid form.
func Update(ctx context.Context, db *pgxpool.Pool, val *Validator, box Sealer, recipients RecipientSync, actor audit.Actor, accountID int64, publicID string, p Patch) (*Form, error) {
	if !ValidPublicID(publicID) {
		return nil, ErrNotFound
	}
	var out *Form
	err := database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		// FOR NO KEY UPDATE: two concurrent changes of fields must not both
		// make version n+1, while submissions (whose foreign key takes a
		// KEY SHARE lock on the form) are not held up by an edit.
		f, err := scanForm(tx.QueryRow(ctx, forAccountSQL+` FOR NO KEY UPDATE OF f`, publicID, accountID))
		if err != nil {
			return err
		}
		if p.UnchangedSince != nil && !f.UpdatedAt.Equal(*p.UnchangedSince) {
			return ErrStale
		}
		in := Input{Name: f.Name, Fields: f.Contract.Fields, Settings: f.Settings}
		if p.Name != nil {
			in.Name = *p.Name
		}
		if p.Fields != nil {
			in.Fields = *p.Fields
		}
		if len(p.Settings) > 0 && string(p.Settings) != "null" {
			// Unmarshalling onto the current settings replaces exactly the
			// members the patch names.
			if err := json.Unmarshal(p.Settings, &in.Settings); err != nil {
				return &ValidationError{Errors: []FieldError{{Field: "settings", Code: CodeInvalid, Message: "settings: " + err.Error(), Pointer: Pointer("settings")}}}
			}
		}
		// Whether a secret is stored is the column's to say, not the patch's;
		// a secret kept for one provider is no secret for another, so a
		// change of provider needs its secret.
		in.Settings.Captcha.SecretSet = f.captchaSecret != "" && in.Settings.Captcha.Provider == f.Settings.Captcha.Provider
		if err := val.CheckChange(f, in); err != nil {
			return err
		}
		secret := f.captchaSecret
		if s := in.Settings.Captcha.Secret; s != nil {
			secret = sealCaptcha(box, *s, f.PublicID)
		}
		version := f.Contract.Version
		oldFields, _ := json.Marshal(f.Contract.Fields)
		newFields, err := json.Marshal(in.Fields)
		if err != nil {
			return err
		}
		if in.Fields == nil {
			newFields = []byte("[]")
		}
		if string(oldFields) != string(newFields) {
			version++
			if _, err := tx.Exec(ctx, `INSERT INTO form_contracts (form_id, version, fields) VALUES ($1, $2, $3)`, f.ID, version, newFields); err != nil {
				return err
			}
		}
		settings, err := json.Marshal(in.Settings.WithDefaults().stored())
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE forms SET name = $2, settings = $3, contract_version = $4, captcha_secret = $5, updated_at = now() WHERE id = $1`,
			f.ID, in.Name, settings, version, secret); err != nil {
			return err
		}
		changed, err := changedNames(f, in.Name, version, settings, secret)
		if err != nil {
			return err
		}
		if len(changed) > 0 {
			if err := audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: "form.update",
				ObjectType: "form", ObjectID: f.PublicID, Changed: changed}); err != nil {
				return err
			}
		}
		out, err = scanForm(tx.QueryRow(ctx, forAccountSQL, publicID, accountID))
		if err != nil || recipients == nil {
			return err
		}
		return recipients.Sync(ctx, tx, out)
	})
	return out, err
}

// Archive archives the account's form publicID: its endpoint then answers
// 410 and lists omit it; its submissions stay. Archiving twice is fine
// (only the first is recorded, as "form.archive" by actor, in the same
// transaction). It returns ErrNotFound.
func Archive(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, publicID string) error {
	return setArchived(ctx, db, actor, accountID, publicID, true)
}

// Restore takes the account's form publicID out of the archive: its
// endpoint takes submissions again and lists show it. Restoring a live
// form changes nothing; a restore is recorded as "form.restore". It
// returns ErrNotFound.
func Restore(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, publicID string) error {
	return setArchived(ctx, db, actor, accountID, publicID, false)
}

func setArchived(ctx context.Context, db *pgxpool.Pool, actor audit.Actor, accountID int64, publicID string, archived bool) error {
	if !ValidPublicID(publicID) {
		return ErrNotFound
	}
	return database.WithTx(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var was bool
		err := tx.QueryRow(ctx, `UPDATE forms f SET archived_at = CASE WHEN $3 THEN coalesce(f.archived_at, now()) END, updated_at = now()
FROM forms old WHERE old.id = f.id AND f.public_id = $1 AND f.account_id = $2
RETURNING old.archived_at IS NOT NULL`, publicID, accountID, archived).Scan(&was)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil || was == archived {
			return err
		}
		action := "form.archive"
		if !archived {
			action = "form.restore"
		}
		return audit.Record(ctx, tx, audit.Entry{AccountID: accountID, Actor: actor, Action: action,
			ObjectType: "form", ObjectID: publicID, Changed: []string{"archived"}})
	})
}

// ListArchived returns up to limit of the account's archived forms, the
// most recently archived first.
func ListArchived(ctx context.Context, db database.Executor, accountID int64, limit int) ([]*Form, error) {
	rows, err := db.Query(ctx, `SELECT `+formColumns+` `+formFrom+`
WHERE f.account_id = $1 AND f.archived_at IS NOT NULL ORDER BY f.archived_at DESC, f.id DESC LIMIT $2`, accountID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Form
	for rows.Next() {
		f, err := scanForm(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// changedNames names what an update changes of f: "name", "fields",
// "settings.<member>" for each member of the stored settings that differs,
// and "settings.captcha.secret" for a new secret — names only, never values.
func changedNames(f *Form, name string, version int, settings []byte, secret string) ([]string, error) {
	var out []string
	if name != f.Name {
		out = append(out, "name")
	}
	if version != f.Contract.Version {
		out = append(out, "fields")
	}
	before, err := json.Marshal(f.Settings.WithDefaults().stored())
	if err != nil {
		return nil, err
	}
	var old, cur map[string]json.RawMessage
	if err := json.Unmarshal(before, &old); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(settings, &cur); err != nil {
		return nil, err
	}
	for k, v := range cur {
		if o, ok := old[k]; !ok || !bytes.Equal(o, v) {
			out = append(out, "settings."+k)
		}
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			out = append(out, "settings."+k)
		}
	}
	if secret != f.captchaSecret {
		out = append(out, "settings.captcha.secret")
	}
	return out, nil
}
