package submissions

import "time"

// JSON is a submission as clients see it, in the API and in webhook
// payloads (api/openapi.json).
type JSON struct {
	ID              string         `json:"id"`
	Form            string         `json:"form"`
	CreatedAt       time.Time      `json:"created_at"`
	Data            map[string]any `json:"data"`
	Spam            bool           `json:"spam"`
	SpamReason      string         `json:"spam_reason,omitempty"`
	ContractVersion int            `json:"contract_version"`
	IdempotencyKey  *string        `json:"idempotency_key"`
	Meta            Meta           `json:"meta"`
	Replays         int            `json:"replays"`
	Duplicates      Duplicates     `json:"duplicates"`
	MergedInto      *string        `json:"merged_into"`
	// Files are the files the submission was sent with (files.go); each
	// field's value in Data names its file too.
	Files []FileJSON `json:"files"`
}

// JSON returns s in its client shape.
func (s *Submission) JSON() JSON {
	j := JSON{ID: s.PublicID(), Form: s.FormPublicID, CreatedAt: s.CreatedAt, Data: s.Data, Spam: s.Spam,
		SpamReason: s.SpamReason, ContractVersion: s.ContractVersion, Meta: s.Meta, Replays: s.Replays, Duplicates: s.Duplicates}
	if s.MergedInto != nil {
		id := FormatID(*s.MergedInto)
		j.MergedInto = &id
	}
	if s.IdempotencyKey != "" {
		j.IdempotencyKey = &s.IdempotencyKey
	}
	j.Files = make([]FileJSON, len(s.Files))
	for i, f := range s.Files {
		id := f.FileID(s.ID)
		j.Files[i] = FileJSON{ID: id, Field: f.Field, Name: f.Name, Size: f.Size, ContentType: f.ContentType, SHA256: f.SHA256,
			URL: FilePath(s.ID, id)}
	}
	return j
}
