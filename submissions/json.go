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
	// field's file value in Data carries the same "id" and "url" too.
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
	if len(s.Files) > 0 {
		j.Data = copyData(s.Data)
	}
	for i, f := range s.Files {
		id := f.FileID(s.ID)
		j.Files[i] = FileJSON{ID: id, Field: f.Field, Name: f.Name, Size: f.Size, ContentType: f.ContentType, SHA256: f.SHA256,
			URL: FilePath(s.ID, id), value: fileValue(j.Data, f.Field, f.Position)}
		if j.Files[i].value != nil {
			j.Files[i].value["id"], j.Files[i].value["url"] = id, j.Files[i].URL
		}
	}
	return j
}

// copyData copies data deep enough that the file objects in it can be
// added to without changing the submission's own.
func copyData(data map[string]any) map[string]any {
	out := make(map[string]any, len(data))
	for k, v := range data {
		switch v := v.(type) {
		case map[string]any:
			out[k] = copyObject(v)
		case []any:
			l := make([]any, len(v))
			for i, e := range v {
				if m, ok := e.(map[string]any); ok {
					e = copyObject(m)
				}
				l[i] = e
			}
			out[k] = l
		default:
			out[k] = v
		}
	}
	return out
}

func copyObject(m map[string]any) map[string]any {
	c := make(map[string]any, len(m)+2)
	for k, v := range m {
		c[k] = v
	}
	return c
}

// fileValue is the file object of field's value at position in data (a
// field's one value is position 0), nil when there is none.
func fileValue(data map[string]any, field string, position int) map[string]any {
	switch v := data[field].(type) {
	case map[string]any:
		if position == 0 {
			return v
		}
	case []any:
		if position < len(v) {
			m, _ := v[position].(map[string]any)
			return m
		}
	}
	return nil
}
