//! The model being served, behind one slot that a reload swaps whole: a request takes the
//! `Arc` current when it starts and scores every row with it, so a reload never mixes
//! two models in one answer.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::error::Result;
use crate::inspect::Inspection;
use crate::model::Model;
use crate::nn::Network;

/// A loaded model with what the server answers about it.
#[derive(Debug)]
pub struct ServedModel {
    /// The model itself.
    pub model: Model,
    /// `GET /model`: the model as `inspect --format json` describes it, pretty-printed.
    pub inspection: String,
    /// Clones of the model's network not in use, with their buffers: a request takes one
    /// (or clones the network when none is free) and puts it back.
    networks: Mutex<Vec<Network>>,
}

impl ServedModel {
    /// Load and check the model file at `path` (as `Model::load`), and describe it.
    pub fn load(path: &Path) -> Result<ServedModel> {
        let model = Model::load(path)?;
        Ok(ServedModel::new(model, path.display().to_string()))
    }

    /// Serve `model`, named `shown` in its description.
    pub fn new(model: Model, shown: String) -> ServedModel {
        let inspection = serde_json::to_string_pretty(&Inspection::of(&model, shown))
            .expect("an inspection serialises to JSON")
            + "\n";
        ServedModel {
            model,
            inspection,
            networks: Mutex::new(Vec::new()),
        }
    }

    /// A clone of the model's network for one request; `put_back` when done.
    pub(super) fn take_network(&self) -> Network {
        let free = self
            .networks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        free.unwrap_or_else(|| self.model.network.clone())
    }

    /// Return a network from `take_network` for the next request.
    pub(super) fn put_back(&self, network: Network) {
        self.networks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(network);
    }
}

/// The model file and the model loaded from it, swapped atomically by `reload`.
#[derive(Debug)]
pub struct ModelSlot {
    path: PathBuf,
    current: RwLock<Arc<ServedModel>>,
}

impl ModelSlot {
    /// Load the model at `path`.
    pub fn open(path: &Path) -> Result<ModelSlot> {
        Ok(ModelSlot {
            path: path.to_path_buf(),
            current: RwLock::new(Arc::new(ServedModel::load(path)?)),
        })
    }

    /// The model file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The model now served; it stays valid for its holder across reloads.
    pub fn current(&self) -> Arc<ServedModel> {
        // A poisoned lock still holds a whole Arc: the swap cannot stop half-way.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Read the model file again and serve it from now on. A file that does not load
    /// leaves the served model as it was and returns the error.
    pub fn reload(&self) -> Result<()> {
        let fresh = Arc::new(ServedModel::load(&self.path)?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }
}
