package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Search matches whole words and the words a word of three characters or
// more starts ("host" finds "hosted"), keeps the web-search syntax
// (phrases, or, -word), and any text a client sends is a search, never an
// error.
func TestSearchWordPrefixes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hosted := b.post(t, b.form.PublicID, `{"email":"ada@example.com","message":"our hosted forms"}`, "k1")
	host := b.post(t, b.form.PublicID, `{"email":"grace@example.com","message":"a host of problems"}`, "k2")
	other := b.post(t, b.form.PublicID, `{"email":"alan@example.com","message":"ho ho ho, hello"}`, "k3")
	search := func(q string) []string {
		t.Helper()
		r := b.apiCall(t, "GET", "/api/v1/forms/"+b.form.PublicID+"/submissions?q="+url.QueryEscape(q), "")
		if r.Status != http.StatusOK {
			t.Fatalf("search %q = %s", q, r)
		}
		var ids []string
		for _, s := range decodeObject(t, r.Body)["data"].([]any) {
			ids = append(ids, s.(map[string]any)["id"].(string))
		}
		return ids
	}
	for q, want := range map[string][]string{
		"host":              {host, hosted},
		"hosted":            {hosted},
		"ho":                {other},
		`"host of"`:         {host},
		"host -problems":    {hosted},
		"hel or problem":    {other, host},
		"HOST":              {host, hosted},
		"o'brien":           nil,
		`'''`:               nil,
		`host:* & !x | ('a`: nil,
		`\' \\ ::tsquery`:   nil,
	} {
		got := search(q)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("search %q = %v, want %v", q, got, want)
		}
	}
}
