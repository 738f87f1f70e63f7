package localstack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// keyPair is a certificate and its key, both parsed, plus where they were written.
type keyPair struct {
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	CertFile string
	KeyFile  string
}

// certRequest describes a certificate to issue.
type certRequest struct {
	commonName string
	orgs       []string
	ips        []net.IP
	dnsNames   []string
	isCA       bool
	server     bool
	client     bool
}

// issue creates a key and a certificate signed by parent (self-signed when
// parent is nil) and writes <name>.crt and <name>.key into dir.
func issue(dir, name string, req certRequest, parent *keyPair) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key %s: %w", name, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("serial %s: %w", name, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: req.commonName, Organization: req.orgs},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IPAddresses:           req.ips,
		DNSNames:              req.dnsNames,
	}
	if req.isCA {
		tmpl.IsCA = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if req.server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if req.client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	signerCert, signerKey := tmpl, key
	if parent != nil {
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signerKey)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	kp := &keyPair{cert: cert, key: key,
		CertFile: filepath.Join(dir, name+".crt"), KeyFile: filepath.Join(dir, name+".key")}
	if err := writePEM(kp.CertFile, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	if err := writeKey(kp.KeyFile, key); err != nil {
		return nil, err
	}
	return kp, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("marshal key: %w", err)
	}
	return writePEM(path, "EC PRIVATE KEY", der)
}

func writePEM(path, typ string, der []byte) error {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// clusterPKI is everything one cluster's components need to trust each other.
type clusterPKI struct {
	CA            *keyPair // signs serving and client certs
	Serving       *keyPair // apiserver, kwok, metrics-server, controller-manager, scheduler
	KubeletClient *keyPair // apiserver → kubelet (kwok)
	FrontProxyCA  *keyPair
	FrontProxy    *keyPair // aggregator → metrics-server
	SAKeyFile     string   // service-account signing key
	SAPublicFile  string
}

// newClusterPKI issues a fresh CA and certificates for one cluster into dir.
// extraIPs are added to the serving certificate (network-namespace hosts).
func newClusterPKI(dir string, extraIPs []net.IP) (*clusterPKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki dir: %w", err)
	}
	var p clusterPKI
	var err error
	if p.CA, err = issue(dir, "ca", certRequest{commonName: "headroom-local-ca", isCA: true}, nil); err != nil {
		return nil, err
	}
	ips := append([]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}, extraIPs...)
	if p.Serving, err = issue(dir, "serving", certRequest{commonName: "localstack",
		ips: ips, server: true, client: true,
		dnsNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"metrics-server.kube-system.svc"}}, p.CA); err != nil {
		return nil, err
	}
	if p.KubeletClient, err = issue(dir, "kubelet-client", certRequest{commonName: "kube-apiserver-kubelet-client",
		orgs: []string{"system:masters"}, client: true}, p.CA); err != nil {
		return nil, err
	}
	if p.FrontProxyCA, err = issue(dir, "front-proxy-ca", certRequest{commonName: "front-proxy-ca", isCA: true}, nil); err != nil {
		return nil, err
	}
	if p.FrontProxy, err = issue(dir, "front-proxy-client", certRequest{commonName: "front-proxy-client",
		client: true}, p.FrontProxyCA); err != nil {
		return nil, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("service-account key: %w", err)
	}
	p.SAKeyFile, p.SAPublicFile = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if err := writeKey(p.SAKeyFile, saKey); err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("service-account public key: %w", err)
	}
	if err := writePEM(p.SAPublicFile, "PUBLIC KEY", pub); err != nil {
		return nil, err
	}
	return &p, nil
}
