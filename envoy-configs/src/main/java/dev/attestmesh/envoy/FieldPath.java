package dev.attestmesh.envoy;

/**
 * An immutable path from the validated root to a field, built as the validator descends and rendered to
 * text only when a violation is reported (most paths never are).
 */
final class FieldPath {

    static final FieldPath ROOT = new FieldPath(null, "");

    private final FieldPath parent;
    private final String segment;

    private FieldPath(FieldPath parent, String segment) {
        this.parent = parent;
        this.segment = segment;
    }

    FieldPath field(String name) {
        return new FieldPath(this, this == ROOT ? name : "." + name);
    }

    FieldPath index(int index) {
        return new FieldPath(this, "[" + index + "]");
    }

    FieldPath key(Object key) {
        return new FieldPath(this, key instanceof String text ? "[\"" + text + "\"]" : "[" + key + "]");
    }

    @Override
    public String toString() {
        if (parent == null) {
            return segment;
        }
        StringBuilder text = new StringBuilder();
        append(text);
        return text.toString();
    }

    private void append(StringBuilder text) {
        if (parent != null) {
            parent.append(text);
        }
        text.append(segment);
    }
}
