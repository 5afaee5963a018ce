package interregion

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// tokenScheme is the authorization scheme of the region-set token:
// metadata "authorization: bearer <token>".
const tokenScheme = "bearer"

// authFunc returns the auth interceptor's check of the region-set token.
// A call without the right token is refused with Unauthenticated and
// counted.
func (l *Link) authFunc(ctx context.Context) (context.Context, error) {
	tok, err := auth.AuthFromMD(ctx, tokenScheme)
	if err != nil || subtle.ConstantTimeCompare([]byte(tok), []byte(l.cfg.Token)) != 1 {
		l.metrics.refused.WithLabelValues("token").Inc()
		return nil, status.Error(codes.Unauthenticated, "interregion: bad region-set token")
	}
	return ctx, nil
}

// tokenCreds puts the region-set token on every call a client makes.
type tokenCreds struct {
	token      string
	requireTLS bool
}

func (c tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": tokenScheme + " " + c.token}, nil
}

func (c tokenCreds) RequireTransportSecurity() bool { return c.requireTLS }

var _ credentials.PerRPCCredentials = tokenCreds{}

// loadTLS reads the PEM files of mutual TLS.
func loadTLS(f *TLSFiles) (tls.Certificate, *x509.CertPool, error) {
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("interregion: load TLS key pair: %w", err)
	}
	ca, err := os.ReadFile(f.CAFile)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("interregion: read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return tls.Certificate{}, nil, errors.New("interregion: CA file holds no PEM certificate")
	}
	return cert, pool, nil
}

// serverCreds returns the server's transport credentials: mutual TLS that
// refuses clients without a certificate the CA signed, or plaintext.
func (l *Link) serverCreds() (credentials.TransportCredentials, error) {
	if l.cfg.TLS == nil {
		return insecure.NewCredentials(), nil
	}
	cert, pool, err := loadTLS(l.cfg.TLS)
	if err != nil {
		return nil, err
	}
	c := credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	})
	return countingCreds{TransportCredentials: c, refused: func() { l.metrics.refused.WithLabelValues("tls").Inc() }}, nil
}

// clientCreds returns the credentials for dialling peer p.
func (l *Link) clientCreds(p Peer) (credentials.TransportCredentials, error) {
	if l.cfg.TLS == nil {
		return insecure.NewCredentials(), nil
	}
	cert, pool, err := loadTLS(l.cfg.TLS)
	if err != nil {
		return nil, err
	}
	return credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ServerName:   p.ServerName,
		MinVersion:   tls.VersionTLS13,
	}), nil
}

// countingCreds counts failed server handshakes: a peer with a wrong
// certificate, or anything that is not TLS at all.
type countingCreds struct {
	credentials.TransportCredentials
	refused func()
}

func (c countingCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		c.refused()
	}
	return out, info, err
}

func (c countingCreds) Clone() credentials.TransportCredentials {
	return countingCreds{TransportCredentials: c.TransportCredentials.Clone(), refused: c.refused}
}
