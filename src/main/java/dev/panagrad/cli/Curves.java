package dev.panagrad.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The PNG of a run: the loss per step and per epoch beside the accuracy per epoch. */
final class Curves {
  private Curves() {}

  static void save(Path png, List<Double> stepLosses, List<double[]> epochs, String title)
      throws IOException {
    int stepsPerEpoch = Math.max(1, stepLosses.size() / Math.max(1, epochs.size()));
    XYChart loss =
        new XYChartBuilder()
            .width(640)
            .height(420)
            .title("loss: " + title)
            .xAxisTitle("epoch")
            .yAxisTitle("cross-entropy")
            .build();
    double[] sx = new double[stepLosses.size()], sy = new double[stepLosses.size()];
    for (int i = 0; i < sx.length; i++) {
      sx[i] = (i + 1) / (double) stepsPerEpoch;
      sy[i] = stepLosses.get(i);
    }
    XYSeries steps = loss.addSeries("per step", sx, sy);
    steps.setMarker(SeriesMarkers.NONE);
    steps.setLineWidth(0.8f);
    double[] ex = column(epochs, 0), el = column(epochs, 1);
    loss.addSeries("train (epoch mean)", ex, el).setMarker(SeriesMarkers.CIRCLE);

    XYChart acc =
        new XYChartBuilder()
            .width(640)
            .height(420)
            .title("accuracy: " + title)
            .xAxisTitle("epoch")
            .yAxisTitle("accuracy")
            .build();
    acc.addSeries("train", ex, column(epochs, 2)).setMarker(SeriesMarkers.CIRCLE);
    acc.addSeries("test", ex, column(epochs, 3)).setMarker(SeriesMarkers.DIAMOND);
    for (XYChart c : List.of(loss, acc)) {
      c.getStyler().setXAxisDecimalPattern("0.#");
      c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
    }
    acc.getStyler().setLegendPosition(Styler.LegendPosition.InsideSE);
    List<Chart> charts = new ArrayList<>(List.of(loss, acc));
    String base = png.toString().replaceFirst("\\.png$", "");
    BitmapEncoder.saveBitmap(charts, 1, 2, base, BitmapEncoder.BitmapFormat.PNG);
  }

  private static double[] column(List<double[]> rows, int c) {
    double[] out = new double[rows.size()];
    for (int i = 0; i < out.length; i++) out[i] = rows.get(i)[c];
    return out;
  }
}
