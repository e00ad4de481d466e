//! The few parts of a pod the mutation reads, decoded without building the whole document:
//! strings borrow from the input where they can and everything else is skipped.

use std::borrow::Cow;
use std::fmt;

use k8s_openapi::api::core::v1::Container;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// A string-to-string map kept as decoded (annotations, labels, node selectors): a handful of
/// entries, so a linear scan beats hashing.
#[derive(Debug, Default)]
pub(super) struct StringMap<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl StringMap<'_> {
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        // JSON objects may repeat a key; like Go and serde_json, the last one wins.
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for StringMap<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for MapVisitor<'a> {
            type Value = StringMap<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(4).min(64));
                while let Some((k, v)) = map.next_entry::<CowStr<'a>, CowStr<'a>>()? {
                    entries.push((k.0, v.0));
                }
                Ok(StringMap(entries))
            }
        }
        deserializer.deserialize_map(MapVisitor(std::marker::PhantomData))
    }
}

/// A string that borrows from the input unless it had escapes.
pub(super) struct CowStr<'a>(pub(super) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
            type Value = CowStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor(std::marker::PhantomData))
    }
}

/// An object of which only `name` matters (an env var, a mount, a volume).
#[derive(Deserialize)]
#[serde(expecting = "an object with a name")]
pub(super) struct Named<'a> {
    #[serde(default, borrow)]
    name: Option<CowStr<'a>>,
}

impl Named<'_> {
    pub(super) fn name(&self) -> &str {
        self.name.as_ref().map_or("", |n| &n.0)
    }
}

/// A pod, as far as the mutation reads it. `C` is how containers are decoded: names only
/// ([`ContainerView`]) or fully typed ([`Container`]) for the compatible style.
#[derive(Deserialize)]
#[serde(
    expecting = "a Pod object",
    bound(deserialize = "'de: 'a, C: Deserialize<'de>")
)]
pub(super) struct PodView<'a, C> {
    #[serde(default, borrow)]
    pub(super) kind: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    pub(super) metadata: Option<MetaView<'a>>,
    #[serde(default, borrow)]
    pub(super) spec: Option<SpecView<'a, C>>,
}

#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct MetaView<'a> {
    #[serde(default, borrow)]
    pub(super) name: Option<CowStr<'a>>,
    #[serde(default, borrow, rename = "generateName")]
    pub(super) generate_name: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    pub(super) namespace: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    pub(super) annotations: Option<StringMap<'a>>,
    #[serde(default, borrow)]
    pub(super) labels: Option<StringMap<'a>>,
}

#[derive(Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "an object",
    bound(deserialize = "'de: 'a, C: Deserialize<'de>")
)]
pub(super) struct SpecView<'a, C> {
    #[serde(default, borrow)]
    pub(super) service_account_name: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    pub(super) service_account: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    pub(super) node_selector: Option<StringMap<'a>>,
    #[serde(default, borrow)]
    pub(super) os: Option<OsView<'a>>,
    #[serde(default, borrow)]
    pub(super) volumes: Option<Vec<Named<'a>>>,
    #[serde(default)]
    pub(super) containers: Option<Vec<C>>,
    #[serde(default)]
    pub(super) init_containers: Option<Vec<C>>,
}

#[derive(Deserialize)]
#[serde(expecting = "an object")]
pub(super) struct OsView<'a> {
    #[serde(default, borrow)]
    pub(super) name: Option<CowStr<'a>>,
}

/// A container, as far as the granular style reads it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a container object")]
pub(super) struct ContainerView<'a> {
    #[serde(default, borrow)]
    name: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    env: Option<Vec<Named<'a>>>,
    #[serde(default, borrow)]
    volume_mounts: Option<Vec<Named<'a>>>,
}

/// What the decision reads of a container, whichever way it was decoded.
pub(super) trait ContainerLike {
    fn name(&self) -> &str;
    fn has_env(&self, name: &str) -> bool;
    fn has_mount(&self, name: &str) -> bool;
    /// Whether `env` is an array already (so entries are appended with `/-`).
    fn env_present(&self) -> bool;
    /// Whether `volumeMounts` is an array already.
    fn mounts_present(&self) -> bool;
}

impl ContainerLike for ContainerView<'_> {
    fn name(&self) -> &str {
        self.name.as_ref().map_or("", |n| &n.0)
    }
    fn has_env(&self, name: &str) -> bool {
        self.env.iter().flatten().any(|e| e.name() == name)
    }
    fn has_mount(&self, name: &str) -> bool {
        self.volume_mounts
            .iter()
            .flatten()
            .any(|m| m.name() == name)
    }
    fn env_present(&self) -> bool {
        self.env.is_some()
    }
    fn mounts_present(&self) -> bool {
        self.volume_mounts.is_some()
    }
}

impl ContainerLike for Container {
    fn name(&self) -> &str {
        &self.name
    }
    fn has_env(&self, name: &str) -> bool {
        self.env.iter().flatten().any(|e| e.name == name)
    }
    fn has_mount(&self, name: &str) -> bool {
        self.volume_mounts.iter().flatten().any(|m| m.name == name)
    }
    fn env_present(&self) -> bool {
        self.env.is_some()
    }
    fn mounts_present(&self) -> bool {
        self.volume_mounts.is_some()
    }
}
