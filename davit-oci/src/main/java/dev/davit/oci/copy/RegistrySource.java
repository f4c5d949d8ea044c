package dev.davit.oci.copy;

import dev.davit.oci.digest.Digest;
import dev.davit.oci.manifest.Descriptor;
import dev.davit.oci.manifest.Manifest;
import dev.davit.oci.reference.Reference;
import dev.davit.oci.registry.RegistryClient;
import dev.davit.oci.store.BlobIngest;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/** A repository of a registry as a {@link ContentSource}. */
public final class RegistrySource implements ContentSource {
    private final RegistryClient client;
    private final Reference repository;

    /**
     * A source reading from one repository.
     *
     * @param client the client for the repository's registry
     * @param repository the repository; its tag and digest are ignored, {@link #resolve(String)} names what to read
     */
    public RegistrySource(RegistryClient client, Reference repository) {
        this.client = client;
        this.repository = repository;
    }

    @Override
    public String describe() {
        return repository.repositoryName();
    }

    @Override
    public Resolved resolve(String name) {
        Reference ref = Digest.isValid(name) ? new Reference(repository.registry(), repository.repository(), null,
                Digest.parse(name)) : repository.withTag(name);
        RegistryClient.FetchedManifest fm = client.fetchManifest(ref);
        return new Resolved(fm.manifest(), fm.digest());
    }

    @Override
    public Manifest fetchManifest(Descriptor descriptor) {
        return client.fetchManifest(repository, descriptor).manifest();
    }

    @Override
    public void fetchBlob(Descriptor descriptor, BlobIngest into, LongConsumer progress, Consumer<String> retries) {
        client.fetchBlob(repository, descriptor, into, progress, retries);
    }
}
