//! The Cinema gRPC contract.
//!
//! Every `.proto` file lives in the workspace's `proto/` directory; this crate is the
//! only place generated code comes from. Services and clients depend on it instead of
//! compiling protos themselves, so the contract has exactly one definition.
//!
//! Modules mirror the proto packages: `cinema.orders.v1` is [`orders::v1`],
//! `cinema.movies.v1` is [`movies::v1`].

/// The encoded `FileDescriptorSet` of every proto in the workspace (imports included),
/// for `tonic-reflection`.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/cinema_descriptor.bin"));

pub mod error;

pub mod movies {
    pub mod v1 {
        #![allow(missing_docs, clippy::all, clippy::pedantic)]
        tonic::include_proto!("cinema.movies.v1");
    }
}

pub mod orders {
    pub mod v1 {
        #![allow(missing_docs, clippy::all, clippy::pedantic)]
        tonic::include_proto!("cinema.orders.v1");
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    #[test]
    fn descriptor_set_lists_every_service() {
        let fds = prost_types::FileDescriptorSet::decode(super::FILE_DESCRIPTOR_SET)
            .expect("descriptor set decodes");
        let services: Vec<String> = fds
            .file
            .iter()
            .flat_map(|f| {
                let package = f.package().to_owned();
                f.service
                    .iter()
                    .map(move |s| format!("{package}.{}", s.name()))
            })
            .collect();
        for service in [
            "cinema.orders.v1.OrdersService",
            "cinema.movies.v1.MoviesService",
            "cinema.movies.v1.MoviesAdminService",
            "cinema.orders.v1.ProductProviderService",
            "cinema.orders.v1.OrdersAdminService",
        ] {
            assert!(services.contains(&service.to_owned()), "{service}");
        }
        // Imports are included so reflection clients can resolve Timestamp.
        assert!(
            fds.file
                .iter()
                .any(|f| f.name() == "google/protobuf/timestamp.proto")
        );
    }
}
