{{/* Resource name prefix: the release name, with "attestmesh" unless the release already says so. */}}
{{- define "attestmesh.fullname" -}}
{{- if contains "attestmesh" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-attestmesh" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "attestmesh.labels" -}}
app.kubernetes.io/name: attestmesh
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "attestmesh.controlPlaneSelector" -}}
app.kubernetes.io/name: attestmesh
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control-plane
{{- end -}}

{{- define "attestmesh.nodeAgentSelector" -}}
app.kubernetes.io/name: attestmesh
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: node-agent
{{- end -}}

{{- define "attestmesh.caSecretName" -}}
{{- if .Values.caEncryptionKey.create -}}
{{- printf "%s-ca-encryption-key" (include "attestmesh.fullname" .) -}}
{{- else -}}
{{- required "caEncryptionKey.existingSecret must name a Secret holding the CA encryption key (or set caEncryptionKey.create=true and pass the value at install time)" .Values.caEncryptionKey.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* The control plane's in-cluster gRPC address, for node agents and Istio's extension provider. */}}
{{- define "attestmesh.controlPlaneAddress" -}}
{{- printf "%s.%s.svc:%d" (include "attestmesh.fullname" .) .Release.Namespace (int .Values.controlPlane.grpcPort) -}}
{{- end -}}

{{/* The ConfigMap holding the mesh trust bundle (key ca-bundle.pem) that node agents authenticate the control plane with. */}}
{{- define "attestmesh.trustBundleConfigMap" -}}
{{- .Values.trustBundle.configMap | default (printf "%s-ca-bundle" (include "attestmesh.fullname" .)) -}}
{{- end -}}

{{/* Where the control plane's own API credentials are mounted (the paths Kubernetes' automount uses). */}}
{{- define "attestmesh.apiAccessDir" -}}
/var/run/secrets/kubernetes.io/serviceaccount
{{- end -}}

{{/*
"true" when Kubernetes mode talks to the API server (OIDC discovery, JWKS URL or TokenReview) and so needs the
in-cluster CA and the control plane's own token. Fails on more than one key source or on none at all.
*/}}
{{- define "attestmesh.k8sNeedsApi" -}}
{{- with .Values.kubernetes -}}
{{- if .enabled -}}
{{- $sources := list -}}
{{- if .oidcDiscovery }}{{ $sources = append $sources "oidcDiscovery" }}{{ end -}}
{{- if .jwksUrl }}{{ $sources = append $sources "jwksUrl" }}{{ end -}}
{{- if .jwks }}{{ $sources = append $sources "jwks" }}{{ end -}}
{{- if .publicKeys }}{{ $sources = append $sources "publicKeys" }}{{ end -}}
{{- if gt (len $sources) 1 -}}
{{- fail (printf "kubernetes: set only one key source, not %s (set kubernetes.oidcDiscovery=false to use another)" (join ", " $sources)) -}}
{{- end -}}
{{- if and (eq (len $sources) 0) (not .tokenReview.enabled) -}}
{{- fail "kubernetes.enabled needs a way to verify tokens: oidcDiscovery, jwksUrl, jwks, publicKeys or tokenReview.enabled" -}}
{{- end -}}
{{- if or .oidcDiscovery .jwksUrl .tokenReview.enabled -}}
true
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
