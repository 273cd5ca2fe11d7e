//! `fit_stream`: the epochs of a streamed fit and the model they make. Each epoch a
//! reader thread (`read_epoch`, with two parsing threads of its own) encodes and
//! shuffles the file while this thread trains on the batches it sends; the validation rows are gathered in the first epoch
//! (of a run or of a resumed run) and evaluated after each. The loop's rules (schedule,
//! early stopping, divergence, checkpoints through `Observer::epoch_done`) are those of
//! `train`; the batches differ, so the model differs from an in-memory run's.

use std::sync::mpsc::sync_channel;

use ndarray::{Array2, ArrayView2};

use super::fit::{
    build_network, check_monitor, loss_for, metric_name, mlp_config, notice_kept, training_config,
};
use super::notice::Notice;
use super::settings::TrainSettings;
use super::stream_batches::{read_epoch, Piece, Reading};
use super::stream_source::StreamPlan;
use super::trainer::{close_epoch, tally, Dataset, EpochEnd, Observer, OwnedTargets, TrainState};
use crate::data::Rows;
use crate::error::{Error, Result};
use crate::model::{Model, TrainingRecord, ValidationMetrics};
use crate::nn::{Buffer, Optimizer, Targets};
use crate::parallel::{current_threads, FlushDenormals};
use crate::preprocess::Task;

/// Batches per piece the reader sends.
const BATCHES_PER_PIECE: usize = 64;

/// Threads of the reader: one splits records, one types cells, one encodes and shuffles.
const READER_THREADS: usize = 3;

/// Train on `plan`'s file from `state` (or fresh weights) and assemble the model.
pub fn fit_stream(
    settings: &TrainSettings,
    plan: &StreamPlan,
    state: Option<TrainState>,
    observer: &mut dyn Observer,
) -> Result<Model> {
    let pipeline = &plan.pipeline;
    let config = training_config(settings);
    let task = pipeline.task();
    check_monitor(settings, task)?;
    let mlp = mlp_config(settings, pipeline);
    let (loss, metric, loss_name) = loss_for(&pipeline.target_encoder, None);
    let mut state = match state {
        Some(state) => state,
        None => TrainState::new(build_network(settings, pipeline, &mlp)?, &config),
    };
    let shape: Vec<String> = std::iter::once(mlp.n_inputs)
        .chain(mlp.hidden.iter().copied())
        .chain(std::iter::once(mlp.n_outputs))
        .map(|n| n.to_string())
        .collect();
    observer.notice(Notice::TrainingStarted {
        shape: &shape.join("-"),
        n_params: state.network.n_params(),
        rows_train: plan.rows_train,
        rows_validation: (plan.rows_validation > 0).then_some(plan.rows_validation),
    });
    let n = plan.rows_train;
    let batch_size = config.batch_size.clamp(1, n.max(1));
    let n_batches = n.div_ceil(batch_size);
    let base_lr = config.optimizer.lr() as f64;
    let early_stopping = config.patience > 0 && plan.rows_validation > 0;
    // The reader's three threads (splitting, typing, encoding) take cores of their own;
    // the steps get the rest (a busy pool's spinning workers would slow the reader).
    let reading = Reading::on(current_threads());
    let _pool = crate::parallel::install(current_threads().saturating_sub(READER_THREADS).max(1));
    let _flush_denormals = FlushDenormals::new();
    let mut validation: Option<Dataset> = None;
    let mut grad = Buffer::default();
    let mut classes: Vec<u32> = Vec::with_capacity(batch_size);

    while state.epochs_done < config.epochs && !state.stopped_early {
        let epoch = state.epochs_done + 1;
        let lr = config
            .schedule
            .lr(base_lr, epoch, config.epochs, &state.plateau);
        state.optimizer.set_learning_rate(lr as f32);
        observer.epoch_started(epoch, config.epochs, n_batches);
        let with_validation = validation.is_none() && plan.rows_validation > 0;
        let mut gathered = Rows::new(pipeline.n_inputs());
        let (mut loss_sum, mut batch, mut done_rows) = (0.0f64, 0usize, 0usize);
        let outcome: Result<()> = std::thread::scope(|scope| {
            let (tx, rx) = sync_channel::<Result<Piece>>(2);
            let (back_tx, back_rx) = sync_channel::<Rows>(4);
            let piece_rows = batch_size * BATCHES_PER_PIECE;
            scope.spawn(move || {
                read_epoch(
                    plan,
                    (config.seed, epoch),
                    piece_rows,
                    with_validation,
                    reading,
                    (&tx, &back_rx),
                )
            });
            for piece in rx.iter() {
                let rows = match piece? {
                    Piece::Validation(rows) => {
                        gathered.x.extend_from_slice(&rows.x);
                        gathered.y.extend_from_slice(&rows.y);
                        continue;
                    }
                    Piece::Train(rows) => rows,
                };
                let width = rows.width;
                for start in (0..rows.len()).step_by(batch_size) {
                    let end = (start + batch_size).min(rows.len());
                    let x_rows = &rows.x[start * width..end * width];

                    let y_slice = &rows.y[start..end];
                    let targets = match task {
                        Task::Classification => {
                            classes.clear();
                            classes.extend(y_slice.iter().map(|&c| c as u32));
                            Targets::Classes(&classes)
                        }
                        Task::Regression => Targets::Values(
                            ArrayView2::from_shape((end - start, 1), y_slice)
                                .expect("one value a row"),
                        ),
                    };
                    let network = &mut state.network;
                    let output = network.forward(view(x_rows, width), true);
                    grad.resize(output.nrows(), output.ncols());
                    let batch_loss = loss.loss_and_grad(output, targets, grad.view_mut());
                    batch += 1;
                    if !batch_loss.is_finite() {
                        return Err(Error::Diverged {
                            loss: batch_loss,
                            epoch,
                            batch,
                        });
                    }
                    if epoch == 1 && batch == 1 {
                        state.initial_loss = Some(batch_loss);
                    }
                    network.backward(view(x_rows, width), grad.view());
                    state.optimizer.step(network);
                    loss_sum += batch_loss * (end - start) as f64;
                    done_rows += end - start;
                    observer.batch_done(batch, n_batches, loss_sum / done_rows as f64);
                }
                let _ = back_tx.try_send(rows);
            }
            Ok(())
        });
        outcome?;
        if with_validation {
            validation = Some(to_dataset(gathered, task));
        }
        let validation = validation.as_ref().filter(|v| v.n_rows() > 0);
        let tally = validation.map(|v| tally(&mut state.network, loss.as_ref(), v));
        let end = EpochEnd {
            epoch,
            train_loss: loss_sum / done_rows.max(1) as f64,
            lr,
            tally,
        };
        close_epoch(&mut state, &config, metric, end, early_stopping, observer)?;
    }
    if early_stopping {
        state.early_stopping.restore_best(&mut state.network);
    }
    let best_epoch = if early_stopping {
        state.early_stopping.best_epoch
    } else {
        None
    };

    let name = metric_name(task);
    let validation_metrics = validation.as_ref().filter(|v| v.n_rows() > 0).map(|v| {
        let t = tally(&mut state.network, loss.as_ref(), v);
        let value = metric.value(&t);
        ValidationMetrics {
            loss: t.loss(),
            accuracy: (name == "accuracy").then_some(value),
            rmse: (name == "rmse").then_some(value),
        }
    });
    notice_kept(
        observer,
        settings.monitor,
        (state.history.len(), best_epoch, state.stopped_early),
        validation_metrics.as_ref(),
        name,
    );
    let training = TrainingRecord {
        task_reason: plan.task_reason.clone(),
        hidden: mlp.hidden.clone(),
        activation: mlp.activation,
        loss: loss_name.to_string(),
        dropout: settings.dropout,
        validation_split: settings.validation_split,
        rows_train: plan.rows_train,
        rows_validation: validation.as_ref().map_or(0, Dataset::n_rows),
        class_weights: None,
        config,
        epochs_run: state.history.len(),
        best_epoch,
        stopped_early: state.stopped_early,
        tuned: None,
        distilled: None,
    };
    let history = std::mem::take(&mut state.history);
    Ok(Model::new(
        pipeline.clone(),
        state.network,
        training,
        history,
        validation_metrics,
    ))
}

/// Rows of `width` inputs as a matrix.
fn view(x: &[f32], width: usize) -> ArrayView2<'_, f32> {
    ArrayView2::from_shape((x.len() / width.max(1), width), x).expect("rows of the width")
}

/// Gathered validation rows as a dataset.
fn to_dataset(rows: Rows, task: Task) -> Dataset {
    let n = rows.len();
    let x = Array2::from_shape_vec((n, rows.width), rows.x).expect("rows of the width");
    let y = match task {
        Task::Classification => OwnedTargets::Classes(rows.y.iter().map(|&c| c as u32).collect()),
        Task::Regression => {
            OwnedTargets::Values(Array2::from_shape_vec((n, 1), rows.y).expect("one value a row"))
        }
    };
    Dataset { x, y }
}
