package dev.davit.oci;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * An error's meaning as data, which each of davit's doors (the library, the CLI, the MCP server) words for itself:
 * a sequence of plain text and typed terms — an {@link Input} the caller gave (library {@code Limits.memoryMiB},
 * CLI {@code --memory}, MCP {@code 'memory'}) or a {@link Fix}, an {@link Action} the caller can take (library
 * {@code Workspaces.start("ws-1")}, CLI {@code 'davit workspace start ws-1'}, MCP {@code workspace_start}) — with,
 * where known, the {@link Subject} it is about and the bad value (never a secret).
 *
 * <p>{@link #toString()} is the library's wording. Immutable.
 */
public final class Message {
    /** A piece of a message: plain text, an input or a fix. */
    public sealed interface Part permits Text, Input, Fix {
    }

    /**
     * Plain text, the same in every door.
     *
     * @param text the words
     */
    public record Text(String text) implements Part {
        /**
         * Plain text.
         *
         * @param text the words; not null
         */
        public Text {
            if (text == null) {
                throw new IllegalArgumentException("Text needs words");
            }
        }
    }

    private final List<Part> parts;
    private final Subject subject;
    private final String value;

    private Message(List<Part> parts, Subject subject, String value) {
        this.parts = List.copyOf(parts);
        this.subject = subject;
        this.value = value;
    }

    /**
     * A message of {@code parts}, in order: each a {@link String} (plain text), an {@link Input}, a {@link Fix} or
     * another {@code Message} (its parts); anything else is taken as plain text by its {@code toString()}.
     *
     * @param parts the pieces
     * @return the message, with no subject and no value
     */
    public static Message of(Object... parts) {
        List<Part> list = new ArrayList<>(parts.length);
        for (Object o : parts) {
            if (o instanceof Message m) {
                m.parts.forEach(p -> add(list, p));
            } else {
                add(list, o instanceof Part part ? part : new Text(String.valueOf(o)));
            }
        }
        return new Message(list, null, null);
    }

    private static void add(List<Part> list, Part p) {
        if (p instanceof Text t && !list.isEmpty() && list.getLast() instanceof Text last) {
            list.set(list.size() - 1, new Text(last.text() + t.text()));
        } else {
            list.add(p);
        }
    }

    /**
     * The message of {@code t}: a davit error's as data, any other's as plain text.
     *
     * @param t an exception
     * @return its message
     */
    public static Message from(Throwable t) {
        return t instanceof DavitException de ? de.message() : of(String.valueOf(t.getMessage()));
    }

    /**
     * This message about {@code type} {@code id}.
     *
     * @param type what the error is about
     * @param id   its id or name
     * @return a copy with the subject set
     */
    public Message about(Subject.Type type, String id) {
        return new Message(parts, new Subject(type, id), value);
    }

    /**
     * This message with the bad value the caller gave (never a secret).
     *
     * @param value the value as given
     * @return a copy with the value set
     */
    public Message value(Object value) {
        return new Message(parts, subject, String.valueOf(value));
    }

    /**
     * The pieces, in order.
     *
     * @return plain texts, inputs and fixes; adjacent texts are one
     */
    public List<Part> parts() {
        return parts;
    }

    /**
     * What the message is about, where known.
     *
     * @return the subject, or empty
     */
    public Optional<Subject> subject() {
        return Optional.ofNullable(subject);
    }

    /**
     * The bad value the caller gave, where there is one.
     *
     * @return the value, or empty
     */
    public Optional<String> value() {
        return Optional.ofNullable(value);
    }

    /**
     * The input the message is about: its first.
     *
     * @return the input, or empty when it names none
     */
    public Optional<Input> input() {
        return parts.stream().filter(Input.class::isInstance).map(Input.class::cast).findFirst();
    }

    /**
     * The fixes the message offers, in order.
     *
     * @return the fixes; empty when it offers none
     */
    public List<Fix> fixes() {
        return parts.stream().filter(Fix.class::isInstance).map(Fix.class::cast).toList();
    }

    /**
     * The message in one door's words.
     *
     * @param inputs how the door names an input
     * @param fixes  how the door words a fix
     * @return the text
     */
    public String render(Function<Input, String> inputs, Function<Fix, String> fixes) {
        StringBuilder b = new StringBuilder();
        for (Part p : parts) {
            b.append(switch (p) {
                case Text t -> t.text();
                case Input i -> inputs.apply(i);
                case Fix f -> fixes.apply(f);
            });
        }
        return b.toString();
    }

    /**
     * The message in the library's words (its methods and types).
     *
     * @return the text
     */
    @Override
    public String toString() {
        return render(Input::library, Fix::library);
    }
}
