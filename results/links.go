package results

import (
	"net/url"
	"strings"
)

// RunPath is a run's page under the root of `patchtest serve`'s
// dashboard.
func RunPath(id string) string { return "/runs/" + url.PathEscape(id) }

// RunURL is the address of the run's page on a dashboard reached at base
// (what a Patchwork check's target_url or a mail carries); empty when
// base is.
func RunURL(base, id string) string {
	if base == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + RunPath(id)
}

// URL is the address of the run's page on the dashboard its
// configuration names (dashboard_url); empty when it names none.
func (r *Record) URL() string { return RunURL(r.Dashboard, r.ID) }
