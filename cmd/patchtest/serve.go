package main

import (
	"errors"
	"fmt"
	"log"
	"net"
	"net/netip"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results/dashboard"
	"github.com/patchtest/patchtest/vm"
)

func newServe() *cobra.Command {
	var (
		index, listen, base, configFile string
	)
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve a read-only web dashboard over the results index: runs, nights, a case's history, benchmark trends",
		Long: `serve runs a web server over a results directory (the index and its run
folders): the runs, filtered by source, tree, branch and verdict; each run
with its report and files; the nights of each tree with their morning
reports; a case's history; each benchmark's trend with its change points;
a series' patch-by-patch matrix; the diff of two runs.

It only reads: the index is opened read-only and only files inside run
folders are served. It listens on 127.0.0.1 unless --listen says otherwise;
put it behind a proxy for others to reach, and set --url (or the
configuration's dashboard_url) to the address they reach it at, so that
runs link to their pages there.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			o := dashboard.Options{Dir: index, BaseURL: base, ErrorLog: log.New(c.ErrOrStderr(), "patchtest: serve: ", log.LstdFlags)}
			if configFile != "" {
				cfg, err := configs.LoadRunFile(configFile)
				if err != nil {
					return &exitError{code: vm.BadInput.ExitCode(), err: err}
				}
				if !c.Flags().Changed("index") {
					o.Dir = cfg.Out
				}
				if !c.Flags().Changed("url") {
					o.BaseURL = cfg.DashboardURL
				}
			}
			if !loopback(listen) {
				fmt.Fprintf(c.ErrOrStderr(), "patchtest: warning: --listen %s reaches beyond this machine; the dashboard has no authentication\n", listen)
			}
			err := dashboard.Serve(c.Context(), o, listen, func(addr string) {
				fmt.Fprintf(c.ErrOrStderr(), "patchtest: serving %s on http://%s/\n", o.Dir, addr)
			})
			var oe *net.OpError
			switch {
			case errors.As(err, &oe):
				return &exitError{code: 2, err: err} // the address, not the index
			case err != nil:
				return &exitError{code: vm.BadInput.ExitCode(), err: fmt.Errorf("serve %s: %w", o.Dir, err)}
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&index, "index", "patchtest-results", "results directory whose index to serve (default: the configuration's out with --config)")
	fl.StringVar(&listen, "listen", dashboard.DefaultListen, "address to listen on (port 0: any free port)")
	fl.StringVar(&base, "url", "", "the address the dashboard is reached at, when behind a proxy under a path (default: the configuration's dashboard_url)")
	fl.StringVar(&configFile, "config", "", "run configuration whose out and dashboard_url to use")
	return c
}

// loopback reports whether listen's host is this machine only.
func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
