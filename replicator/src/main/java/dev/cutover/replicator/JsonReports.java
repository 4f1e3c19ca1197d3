package dev.cutover.replicator;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializationConfig;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.BeanPropertyWriter;
import com.fasterxml.jackson.databind.ser.BeanSerializerModifier;
import com.fasterxml.jackson.databind.ser.impl.UnknownSerializer;
import com.fasterxml.jackson.databind.ser.std.BeanSerializerBase;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.time.temporal.TemporalAccessor;
import java.time.temporal.TemporalAmount;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How reports (records of records, lists, maps and values) become JSON with Jackson: a record is an
 * object of its components, in declaration order and nothing else (no getter-like method becomes a
 * field); any other object that is not a string, number, boolean, map or collection is its
 * {@code toString()}, java.time values, paths and optionals included. Callers add their own formats for enums, numbers
 * and durations to the builder.
 */
public final class JsonReports {
  private JsonReports() {}

  /** A mapper builder with these rules. */
  public static JsonMapper.Builder mapper() {
    SimpleModule module = new SimpleModule("cutover-reports");
    module.addSerializer(TemporalAccessor.class, ToStringSerializer.instance);
    module.addSerializer(TemporalAmount.class, ToStringSerializer.instance);
    module.addSerializer(Optional.class, ToStringSerializer.instance);
    module.addSerializer(Path.class, ToStringSerializer.instance);
    module.setSerializerModifier(new RecordsAndValues());
    return JsonMapper.builder().addModule(module).disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
  }

  /** Records as their components; other beans as their {@code toString()}. */
  private static final class RecordsAndValues extends BeanSerializerModifier {
    private static final long serialVersionUID = 1L;

    @Override
    public List<BeanPropertyWriter> changeProperties(SerializationConfig config, BeanDescription bean, List<BeanPropertyWriter> properties) {
      Class<?> type = bean.getBeanClass();
      if (!type.isRecord()) {
        return properties;
      }
      List<BeanPropertyWriter> components = new ArrayList<>();
      for (RecordComponent component : type.getRecordComponents()) {
        properties.stream().filter(p -> p.getName().equals(component.getName())).findFirst().ifPresent(components::add);
      }
      return components;
    }

    @Override
    public JsonSerializer<?> modifySerializer(SerializationConfig config, BeanDescription bean, JsonSerializer<?> serializer) {
      boolean asBean = serializer instanceof BeanSerializerBase || serializer instanceof UnknownSerializer;
      return asBean && !bean.getBeanClass().isRecord() ? ToStringSerializer.instance : serializer;
    }
  }
}
