//! The keys a kind's `*Keys` struct writes, read from its `Serialize`: the list of keys a kind
//! takes comes from its type, as serde writes it, not from a list kept beside it.

use std::fmt;

use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeStruct, Serializer};

/// The keys `value` writes, in order: the fields of a struct, skipped ones included, or the
/// keys of a map (a struct with a flattened field serializes as one, its `None` fields
/// included). Nothing for any other value.
pub(crate) fn keys_of<T: Serialize>(value: &T) -> Vec<String> {
    let mut keys = Vec::new();
    // The only error is a value that is not a table, which has no keys.
    let _ = value.serialize(KeyNames(&mut keys));
    keys
}

/// A value that is not a table.
#[derive(Debug)]
struct NotATable;

impl fmt::Display for NotATable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a table")
    }
}

impl std::error::Error for NotATable {}

impl ser::Error for NotATable {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotATable
    }
}

/// Collects the keys of a table; refuses any other value.
struct KeyNames<'a>(&'a mut Vec<String>);

/// Refuses the values of `Serializer` methods that are not tables.
macro_rules! not_a_table {
    ($($method:ident($($arg:ty),*) -> $ok:ty;)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<$ok, NotATable> {
            Err(NotATable)
        })*
    };
}

impl<'a> Serializer for KeyNames<'a> {
    type Ok = ();
    type Error = NotATable;
    type SerializeSeq = Impossible<(), NotATable>;
    type SerializeTuple = Impossible<(), NotATable>;
    type SerializeTupleStruct = Impossible<(), NotATable>;
    type SerializeTupleVariant = Impossible<(), NotATable>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), NotATable>;

    fn serialize_map(self, _: Option<usize>) -> Result<Self, NotATable> {
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, NotATable> {
        Ok(self)
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), NotATable> {
        Err(NotATable)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotATable> {
        Err(NotATable)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotATable> {
        Err(NotATable)
    }

    not_a_table! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_str(&str) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize)
            -> Self::SerializeTupleVariant;
        serialize_struct_variant(&'static str, u32, &'static str, usize)
            -> Self::SerializeStructVariant;
    }
}

impl SerializeStruct for KeyNames<'_> {
    type Ok = ();
    type Error = NotATable;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        _: &T,
    ) -> Result<(), NotATable> {
        self.0.push(key.to_string());
        Ok(())
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), NotATable> {
        self.0.push(key.to_string());
        Ok(())
    }

    fn end(self) -> Result<(), NotATable> {
        Ok(())
    }
}

impl SerializeMap for KeyNames<'_> {
    type Ok = ();
    type Error = NotATable;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), NotATable> {
        match toml::Value::try_from(key) {
            Ok(toml::Value::String(key)) => {
                self.0.push(key);
                Ok(())
            }
            _ => Err(NotATable),
        }
    }

    fn serialize_value<T: ?Sized + Serialize>(&mut self, _: &T) -> Result<(), NotATable> {
        Ok(())
    }

    fn end(self) -> Result<(), NotATable> {
        Ok(())
    }
}
