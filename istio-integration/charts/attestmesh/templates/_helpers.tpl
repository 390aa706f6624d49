{{/* The chart's name, or nameOverride. */}}
{{- define "attestmesh.name" -}}
{{- default "attestmesh" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Resource name prefix: fullnameOverride, else the release name with the chart's name unless the release already
contains it. At most 52 characters, so that "<fullname>-ext-authz" still fits a 63-character DNS label.
*/}}
{{- define "attestmesh.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else if contains (include "attestmesh.name" .) .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "attestmesh.name" .) | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "attestmesh.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "attestmesh.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name must name an existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The standalone ext_authz replicas' ServiceAccount: its name is part of their registered SPIFFE ID. */}}
{{- define "attestmesh.extAuthzName" -}}
{{- printf "%s-ext-authz" (include "attestmesh.fullname" .) -}}
{{- end -}}

{{/* The SPIFFE ID the ext_authz replicas' agents earn (registered by the chart). */}}
{{- define "attestmesh.extAuthzSpiffeId" -}}
{{- printf "spiffe://%s/ns/%s/sa/%s" .Values.trustDomain .Release.Namespace (include "attestmesh.extAuthzName" .) -}}
{{- end -}}

{{/* The names in the control plane's serving certificate: its Service, in every form a pod may dial it. */}}
{{- define "attestmesh.serverNames" -}}
{{- $name := include "attestmesh.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $names := list $name (printf "%s.%s" $name $ns) (printf "%s.%s.svc" $name $ns) (printf "%s.%s.svc.%s" $name $ns .Values.controlPlane.clusterDomain) -}}
{{- concat $names .Values.controlPlane.extraServerNames | uniq | join "," -}}
{{- end -}}

{{/* Pod anti-affinity by host name for the selector in .labels: "" none, soft preferred, hard required. */}}
{{- define "attestmesh.podAntiAffinity" -}}
{{- if eq .mode "soft" }}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- .labels | nindent 12 }}
{{- else if eq .mode "hard" }}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- .labels | nindent 10 }}
{{- end }}
{{- end -}}

{{- define "attestmesh.labels" -}}
app.kubernetes.io/name: {{ include "attestmesh.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "attestmesh.controlPlaneSelector" -}}
app.kubernetes.io/name: {{ include "attestmesh.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control-plane
{{- end -}}

{{- define "attestmesh.extAuthzSelector" -}}
app.kubernetes.io/name: {{ include "attestmesh.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: ext-authz
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
{{- .Values.trustBundle.configMap -}}
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

{{/* "true" when the control plane talks to the API server at all: token keys/review, or trust-bundle publishing. */}}
{{- define "attestmesh.needsApi" -}}
{{- if or (include "attestmesh.k8sNeedsApi" .) .Values.trustBundle.publish.enabled -}}
true
{{- end -}}
{{- end -}}
