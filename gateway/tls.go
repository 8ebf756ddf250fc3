package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Names of the cached self-signed certificate in ServerConfig.DataDir.
const (
	selfSignedCert = "gateway-selfsigned-cert.pem"
	selfSignedKey  = "gateway-selfsigned-key.pem"
)

// selfSignedValidity is how long a generated certificate is valid.
const selfSignedValidity = 365 * 24 * time.Hour

// loadCertificate returns the certificate cfg asks for: from CertFile and
// KeyFile, or self-signed.
func loadCertificate(cfg ServerConfig) (tls.Certificate, error) {
	switch {
	case cfg.CertFile != "" || cfg.KeyFile != "":
		if cfg.CertFile == "" || cfg.KeyFile == "" {
			return tls.Certificate{}, errors.New("gateway: tls: CertFile and KeyFile go together")
		}
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("gateway: tls: %w", err)
		}
		return cert, nil
	case cfg.SelfSigned:
		return selfSigned(cfg.DataDir, cfg.Hosts, time.Now())
	default:
		return tls.Certificate{}, errors.New("gateway: tls: TLSAddr needs CertFile and KeyFile, or SelfSigned")
	}
}

// certHosts returns the names a self-signed certificate covers.
func certHosts(extra []string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	for _, h := range extra {
		if h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// selfSigned returns the cached certificate in dir if it is still valid for
// a day and covers the hosts, or generates, caches and returns a new one.
func selfSigned(dir string, extra []string, now time.Time) (tls.Certificate, error) {
	hosts := certHosts(extra)
	if dir != "" {
		cert, err := tls.LoadX509KeyPair(filepath.Join(dir, selfSignedCert), filepath.Join(dir, selfSignedKey))
		if err == nil && cert.Leaf != nil && now.Add(24*time.Hour).Before(cert.Leaf.NotAfter) && covers(cert.Leaf, hosts) {
			return cert, nil
		}
	}
	certPEM, keyPEM, err := generateSelfSigned(hosts, now)
	if err != nil {
		return tls.Certificate{}, err
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return tls.Certificate{}, fmt.Errorf("gateway: tls: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, selfSignedKey), keyPEM, 0o600); err != nil {
			return tls.Certificate{}, fmt.Errorf("gateway: tls: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, selfSignedCert), certPEM, 0o644); err != nil {
			return tls.Certificate{}, fmt.Errorf("gateway: tls: %w", err)
		}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("gateway: tls: %w", err)
	}
	return cert, nil
}

// covers reports whether c names every host.
func covers(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// generateSelfSigned makes an ECDSA P-256 certificate for hosts, valid from
// an hour before now for selfSignedValidity, and returns it and its key in
// PEM.
func generateSelfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: tls: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: tls: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"troupe development"}, CommonName: hosts[0]},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: tls: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("gateway: tls: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}
