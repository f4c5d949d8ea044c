package dev.davit.oci.unpack;

import dev.davit.oci.internal.Text;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** What an unpack has done so far: counters, skipped entries and notes (mutable, one per unpack). */
final class Report {
    long entries;
    long files;
    long directories;
    long symlinks;
    long hardlinks;
    long specialFiles;
    long whiteouts;
    long bytes;
    long absoluteNames;
    long skippedTotal;
    final List<UnpackResult.Skipped> skipped = new ArrayList<>();
    private final Set<String> notes = new LinkedHashSet<>();
    /** Note text to how many entries it concerns; rendered as one note each. */
    private final Map<String, Long> counted = new LinkedHashMap<>();

    /** Records an entry that was not written. */
    void skip(EntryPath p, String reason) {
        skippedTotal++;
        if (skipped.size() < UnpackResult.MAX_SKIPPED_LISTED) {
            skipped.add(new UnpackResult.Skipped(Text.shorten(p.toString(), 300), reason));
        }
    }

    /** A note, shown once however often it is added. */
    void note(String text) {
        notes.add(text);
    }

    /** A note about entries; shown once, with how many entries it concerned. */
    void noteEntry(String text) {
        counted.merge(text, 1L, Long::sum);
    }

    List<String> notes() {
        List<String> out = new ArrayList<>();
        if (absoluteNames > 0) {
            out.add(absoluteNames + (absoluteNames == 1 ? " entry had" : " entries had")
                    + " an absolute name; the leading '/' was removed (as tar does)");
        }
        out.addAll(notes);
        counted.forEach((text, n) -> out.add(text + " (" + n + (n == 1 ? " entry)" : " entries)")));
        return out;
    }
}
