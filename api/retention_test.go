package api_test

import (
	"net/http"
	"testing"
)

// submission_retention is set, read back and cleared through PATCH; a
// value that is not whole days in range is a 422 naming it and changes
// nothing.
func TestSubmissionRetentionSetting(t *testing.T) {
	t.Parallel()
	b := setup(t)
	path := "/api/v1/forms/" + b.form.PublicID
	h := hdr("Authorization", bearer(b.account.APIKey), "Content-Type", ctJSON)
	retention := func() any {
		t.Helper()
		r := b.apiGet(t, path, b.account.APIKey)
		settings, _ := decodeObject(t, r.Body)["settings"].(map[string]any)
		return settings["submission_retention"]
	}
	if got := retention(); got != "" {
		t.Fatalf("default submission_retention = %v, want \"\"", got)
	}
	if r := b.call(t, http.MethodPatch, path, []byte(`{"settings":{"submission_retention":"30d"}}`), h); r.Status != http.StatusOK {
		t.Fatalf("PATCH 30d = %s", r)
	}
	if got := retention(); got != "30d" {
		t.Errorf("submission_retention = %v, want 30d", got)
	}
	for _, bad := range []string{`"0d"`, `"3651d"`, `"1w"`, `"30 days"`, `"720h"`} {
		r := b.call(t, http.MethodPatch, path, []byte(`{"settings":{"submission_retention":`+bad+`}}`), h)
		p := mustProblem(t, r, http.StatusUnprocessableEntity, "validation-error")
		errs := errorsOf(p)
		if len(errs) != 1 || errs[0]["pointer"] != "#/settings/submission_retention" {
			t.Errorf("PATCH %s: errors %v, want one at #/settings/submission_retention", bad, errs)
		}
	}
	if got := retention(); got != "30d" {
		t.Errorf("after refused changes submission_retention = %v, want 30d", got)
	}
	if r := b.call(t, http.MethodPatch, path, []byte(`{"settings":{"submission_retention":""}}`), h); r.Status != http.StatusOK {
		t.Fatalf("PATCH \"\" = %s", r)
	}
	if got := retention(); got != "" {
		t.Errorf("cleared submission_retention = %v, want \"\"", got)
	}
}
