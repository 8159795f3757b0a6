package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DefaultListen is where the dashboard listens unless told otherwise:
// this machine only.
const DefaultListen = "127.0.0.1:8080"

// Serve serves the dashboard of o on listen until ctx is done, then
// shuts down gracefully. ready is called with the address it listens on
// (the port chosen when listen's is 0) once it accepts connections.
func Serve(ctx context.Context, o Options, listen string, ready func(addr string)) error {
	s, err := New(o)
	if err != nil {
		return err
	}
	defer s.Close()
	if listen == "" {
		listen = DefaultListen
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", listen, err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute, // a keep-alive connection left open is let go
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
